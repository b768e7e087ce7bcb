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

"""
Short training runs on real FER+ faces.

A 2-epoch soft-target run on ~1,300 real FER+ faces must beat chance on 300 held-out faces,
and a 2-epoch run distilled from a real teacher must learn to agree with it.

Needs ../shared/data/fer2013.csv.gz and ferplus_votes.csv (CI has them; users of the package do
not: then it skips). The held-out faces are scored on their FER+ majority labels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.paths import DEFAULT_FER2013, DEFAULT_FERPLUS_VOTES

ROWS = 2400
DATA_PRESENT = DEFAULT_FER2013.is_file() and DEFAULT_FERPLUS_VOTES.is_file()


needs_data = pytest.mark.skipif(not DATA_PRESENT,
                                reason=f"FER-2013 or FER+ votes not found beside {DEFAULT_FER2013}")
TEACHER = Path(__file__).resolve().parents[1] / "face_perception" / "models" / "emotion.keras"


@pytest.fixture(scope="module")
def small_fer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """
    Return a small FER-2013 CSV and its FER+ votes.

    Return a small FER-2013 CSV and its FER+ votes: our own train / validation / held-out splits of
    real training faces; the votes follow their faces to the new CSV's row numbers.
    """
    tmp_path = tmp_path_factory.mktemp("fer_small")
    frame = pd.read_csv(DEFAULT_FER2013, nrows=ROWS)
    votes = pd.read_csv(DEFAULT_FERPLUS_VOTES)
    frame["fer2013_row"] = np.arange(len(frame))
    frame = frame[frame["Usage"] == "Training"].reset_index(drop=True)
    usage = np.array(["Training"] * len(frame), dtype=object)
    usage[-600:-300], usage[-300:] = "PublicTest", "PrivateTest"
    frame["Usage"] = usage
    small_votes = votes.merge(frame[["fer2013_row"]].reset_index(names="new_row"), on="fer2013_row")
    small_votes["fer2013_row"] = small_votes.pop("new_row")
    small_votes["Usage"] = usage[small_votes["fer2013_row"].to_numpy()]
    csv, votes_csv = tmp_path / "fer_small.csv", tmp_path / "votes_small.csv"
    frame.drop(columns="fer2013_row").to_csv(csv, index=False)
    small_votes.to_csv(votes_csv, index=False)
    return csv, votes_csv


def _held_out(csv: Path, votes_csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """Normalised held-out faces that have a FER+ majority label, and those labels."""
    from training.data.loaders.fer2013 import read_fer2013_csv
    from training.data.loaders.ferplus import attach_ferplus
    from training.data.preprocess import normalize

    held = attach_ferplus(read_fer2013_csv(csv), votes_csv).splits["test"]
    labelled = held.extra["ferplus_majority"] >= 0
    return normalize(held.images[labelled]), held.extra["ferplus_majority"][labelled]


@pytest.mark.data
@needs_data
def test_two_epochs_of_vote_distributions_beat_chance(small_fer: tuple[Path, Path], tmp_path: Path) -> None:
    import keras

    from training.fit.train import main as train_main

    csv, votes_csv = small_fer
    out = tmp_path / "run"
    train_main(["--task", "emotion", "--data", str(csv), "--votes", str(votes_csv), "--targets", "ferplus_soft",
                "--out", str(out), "--epochs", "2", "--batch-size", "32", "--lr", "3e-3",
                "--warmup-epochs", "0.2", "--bn-momentum", "0.8", "--augment", "none", "--no-cache",
                "--verbose", "0"])
    run = (out / "run.json").read_text()
    assert '"targets": "ferplus_soft"' in run

    x, y = _held_out(csv, votes_csv)
    model = keras.models.load_model(out / "model.keras", compile=False)
    accuracy = float((model.predict(x, verbose=0).argmax(1) == y).mean())
    majority = float(np.bincount(y).max() / len(y))
    print(f"held-out FER+ majority accuracy {accuracy:.3f} on {len(y)} faces, majority class {majority:.3f}")
    assert len(y) > 200
    assert accuracy > 1 / 7 + 0.05
    assert accuracy >= majority


@pytest.mark.data
@needs_data
@pytest.mark.skipif(not TEACHER.is_file(), reason=f"no teacher model at {TEACHER}")
def test_a_student_distilled_from_a_real_teacher_learns_to_agree_with_it(
        small_fer: tuple[Path, Path], tmp_path: Path) -> None:
    """
    Check a student distilled from a real teacher learns to agree with it.

    Targets made only of the teacher's outputs (alpha 1): after 2 epochs the student's answers
    on held-out faces match the teacher's more often than always naming the teacher's most
    frequent answer would; run.json records the teacher.
    """
    import json

    import keras

    from training.fit.train import main as train_main

    csv, votes_csv = small_fer
    out = tmp_path / "student"
    train_main(["--task", "emotion", "--data", str(csv), "--votes", str(votes_csv), "--targets", "ferplus_soft",
                "--teacher", str(TEACHER), "--distill-alpha", "1.0", "--arch", "mini_xception",
                "--out", str(out), "--epochs", "2", "--batch-size", "32", "--lr", "3e-3",
                "--warmup-epochs", "0.2", "--bn-momentum", "0.8", "--augment", "none", "--no-cache",
                "--verbose", "0"])
    record = json.loads((out / "run.json").read_text())["teacher"]
    assert [m["model"] for m in record["members"]] == [str(TEACHER)] and record["alpha"] == 1.0
    assert record["parameters"] > 0 and 0.0 < record["agreement_with_targets_on_training_faces"] <= 1.0

    x, _ = _held_out(csv, votes_csv)
    teacher_says = keras.models.load_model(TEACHER, compile=False).predict(x, verbose=0).argmax(1)
    student_says = keras.models.load_model(out / "model.keras", compile=False).predict(x, verbose=0).argmax(1)
    agreement = float((student_says == teacher_says).mean())
    most_frequent = float(np.bincount(teacher_says).max() / len(teacher_says))
    print(f"student agrees with the teacher on {agreement:.3f} of {len(x)} held-out faces "
          f"(teacher's most frequent answer: {most_frequent:.3f})")
    assert agreement > most_frequent


def test_a_teacher_for_other_classes_is_refused(tmp_path: Path) -> None:
    from training.fit.distill import load_teacher

    gender = TEACHER.with_name("gender.keras")
    with pytest.raises(SystemExit, match="gives 2 classes, the student 48x48 and 7"):
        load_teacher(gender, 48, 7)
    with pytest.raises(SystemExit, match="not found"):
        load_teacher(tmp_path / "missing.keras", 48, 7)


def test_blended_targets_stay_distributions() -> None:
    from training.fit.distill import blend_targets

    labels = np.array([[1.0, 0.0, 0.0], [0.2, 0.8, 0.0]], np.float32)
    teacher = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], np.float32)
    blended = blend_targets(labels, teacher, 0.25)
    np.testing.assert_allclose(blended, [[0.875, 0.125, 0.0], [0.15, 0.6, 0.25]], rtol=1e-6)
    np.testing.assert_allclose(blended.sum(1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        blend_targets(labels, teacher, 1.5)
    with pytest.raises(ValueError, match="differ"):
        blend_targets(labels, teacher[:, :2], 0.5)
