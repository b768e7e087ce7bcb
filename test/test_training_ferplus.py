# Copyright 2026 face_perception maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""FER+ votes -> the node's 7 classes, on vote rows the test writes; attaching them to FER-2013 rows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data.dataset import Dataset, Split
from training.data.loaders.fer2013 import EMOTION_LABELS, read_fer2013_csv
from training.data.loaders.ferplus import attach_ferplus, read_votes, VOTE_COLUMNS, votes_to_targets

LABELS = list(EMOTION_LABELS)  # angry, disgust, fear, happy, sad, surprise, neutral


def votes(**counts: int) -> list[int]:
    """One row of vote counts in the file's column order."""
    unknown = set(counts) - set(VOTE_COLUMNS)
    assert not unknown, unknown
    return [counts.get(name, 0) for name in VOTE_COLUMNS]


def test_clear_majority_maps_to_node_classes() -> None:
    rows = [votes(happiness=8, neutral=2), votes(anger=6, disgust=4), votes(sadness=10),
            votes(surprise=7, fear=3), votes(fear=6, surprise=4), votes(neutral=9, contempt=0, NF=1),
            votes(disgust=6, anger=4)]
    soft, majority = votes_to_targets(np.array(rows), LABELS)
    expected = ["happy", "angry", "sad", "surprise", "fear", "neutral", "disgust"]
    assert [LABELS[m] for m in majority] == expected
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(soft[0], [0, 0, 0, 0.8, 0, 0, 0.2], atol=1e-6)
    np.testing.assert_allclose(soft[1], [0.6, 0.4, 0, 0, 0, 0, 0], atol=1e-6)


def test_single_votes_are_outliers_and_contempt_is_dropped() -> None:
    soft, majority = votes_to_targets(np.array([
        votes(happiness=6, sadness=1, contempt=3),    # the single sad vote and contempt leave happy alone
        votes(contempt=7, neutral=3),                 # contempt majority: no majority label, neutral soft
        votes(happiness=5, surprise=5),               # a tie: no class has more than half
    ]), LABELS)
    np.testing.assert_allclose(soft[0], np.eye(7)[LABELS.index("happy")], atol=1e-6)
    assert majority[0] == LABELS.index("happy")
    assert majority[1] == -1
    np.testing.assert_allclose(soft[1], np.eye(7)[LABELS.index("neutral")], atol=1e-6)
    assert majority[2] == -1
    np.testing.assert_allclose(soft[2], [0, 0, 0, 0.5, 0, 0.5, 0], atol=1e-6)


def test_unknown_or_not_a_face_has_no_target() -> None:
    soft, majority = votes_to_targets(np.array([votes(unknown=6, happiness=4), votes(NF=10),
                                                votes(NF=4, neutral=3, sadness=3)]), LABELS)
    assert (majority == -1).all()
    assert (soft.sum(axis=1) == 0).all()


def test_class_order_follows_the_labels_given() -> None:
    shuffled = ["neutral", "happy", "sad", "angry", "surprise", "fear", "disgust"]
    soft, majority = votes_to_targets(np.array([votes(anger=7, fear=3)]), shuffled)
    assert shuffled[majority[0]] == "angry"
    assert soft[0, shuffled.index("fear")] == pytest.approx(0.3)


def write_csvs(tmp_path: Path) -> tuple[Path, Path]:
    """Return a FER-2013 CSV of 5 faces and FER+ votes for 4 of them, rows out of order."""
    rng = np.random.default_rng(1)
    lines = ["emotion,pixels,Usage"]
    usages = ["Training", "PublicTest", "Training", "PrivateTest", "Training"]
    for i, usage in enumerate(usages):
        lines.append(f"{i % 7}," + " ".join(str(v) for v in rng.integers(0, 256, 2304)) + f",{usage}")
    fer = tmp_path / "fer.csv"
    fer.write_text("\n".join(lines) + "\n")
    header = "fer2013_row,Usage,ferplus_image," + ",".join(VOTE_COLUMNS)
    rows = [(4, "Training", votes(sadness=10)), (0, "Training", votes(happiness=9, neutral=1)),
            (3, "PrivateTest", votes(NF=10)), (1, "PublicTest", votes(surprise=6, fear=4))]
    vote_lines = [header] + [f"{r},{u},fer{r:07d}.png," + ",".join(map(str, v)) for r, u, v in rows]
    votes_csv = tmp_path / "votes.csv"
    votes_csv.write_text("\n".join(vote_lines) + "\n")
    return fer, votes_csv


def test_attach_matches_faces_by_csv_row(tmp_path: Path) -> None:
    fer, votes_csv = write_csvs(tmp_path)
    data = attach_ferplus(read_fer2013_csv(fer), votes_csv)
    train = data.splits["train"]  # CSV rows 0, 2, 4
    assert list(train.extra["row"]) == [0, 2, 4]
    assert [LABELS[m] if m >= 0 else None for m in train.extra["ferplus_majority"]] == ["happy", None, "sad"]
    assert train.extra["ferplus_soft"][1].sum() == 0  # row 2 has no FER+ row
    assert data.splits["validation"].extra["ferplus_majority"][0] == LABELS.index("surprise")
    assert data.splits["test"].extra["ferplus_majority"][0] == -1  # not a face
    assert data.info["ferplus_counts"]["train"] == {"faces": 3, "soft_target": 2, "majority_label": 2}


def test_votes_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "votes.csv"
    bad.write_text("fer2013_row,Usage,neutral\n1,Training,3\n")
    with pytest.raises(ValueError, match="missing column"):
        read_votes(bad)
    with pytest.raises(FileNotFoundError):
        read_votes(tmp_path / "absent.csv")
    no_rows = Dataset("FER-2013", LABELS, {"train": Split(np.zeros((1, 48, 48), np.uint8), np.zeros(1, np.int64))})
    _, votes_csv = write_csvs(tmp_path)
    with pytest.raises(ValueError, match="row numbers"):
        attach_ferplus(no_rows, votes_csv)
