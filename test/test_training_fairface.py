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

"""FairFace loader: the release's layout in a gzip tar, the seeded stratified halves, age groups from years."""
from __future__ import annotations

import io
from pathlib import Path
import tarfile

import numpy as np
import pytest

from conftest import write_fairface_tar

from training.data.loaders.fairface import (age_group_of, AGE_GROUPS, DEFAULT_FAIRFACE, halves, RACE_LABELS,
                                            read_fairface)
from training.data.loaders.utkface import GENDER_LABELS


def test_age_groups_from_years_at_the_edges() -> None:
    years = [0, 2.9, 3, 9.99, 10, 19.5, 20, 29.9, 30, 40, 49.9, 50, 59.9, 60, 69.9, 70, 95]
    expected = [0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7, 8, 8]
    np.testing.assert_array_equal(age_group_of(years), expected)
    assert AGE_GROUPS[int(age_group_of(70.0))] == "more than 70"


def test_the_halves_are_seeded_disjoint_and_stratified() -> None:
    strata = np.repeat(np.arange(18), np.arange(1, 19))
    first, again = halves(strata, 5), halves(strata, 5)
    np.testing.assert_array_equal(first["validation"], again["validation"])
    union = np.concatenate([first["validation"], first["test"]])
    assert sorted(union.tolist()) == list(range(len(strata)))
    for stratum in range(18):  # every stratum halved, the odd face to test
        total = stratum + 1
        assert (strata[first["validation"]] == stratum).sum() == total // 2
        assert (strata[first["test"]] == stratum).sum() == total - total // 2
    assert not np.array_equal(halves(strata, 6)["validation"], first["validation"])


def test_the_tar_reads_in_archive_order_with_labels_last(tmp_path: Path) -> None:
    rows = [(AGE_GROUPS[i % 9], GENDER_LABELS[(i // 9) % 2], RACE_LABELS[i % 7]) for i in range(72)]
    data = read_fairface(write_fairface_tar(tmp_path / "ff.tar.gz", rows), seed=3)
    assert data.labels == GENDER_LABELS
    assert data.counts() == {"validation": 36, "test": 36, "train": 0}
    split = data.splits["validation"]
    assert split.images.shape[1:] == (224, 224, 3) and split.images.dtype == np.uint8
    # Every extra travels with its face: the index names the row of labels.csv it came from.
    for index, gender, age, race in zip(split.extra["fairface_index"], split.labels, split.extra["age_group"],
                                        split.extra["race"]):
        assert (AGE_GROUPS[age], GENDER_LABELS[gender], RACE_LABELS[race]) == rows[index - 101]
    assert set(split.extra["fairface_index"]).isdisjoint(data.splits["test"].extra["fairface_index"])
    assert data.info["split_seed"] == 3 and data.info["faces"] == 72
    assert data.info["counts"]["validation"]["age_group"]["more than 70"] == 4
    assert "age group x gender" in data.info["split_rule"]


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.tar.gz"):
        read_fairface(tmp_path / "nothere.tar.gz")
    bad = write_fairface_tar(tmp_path / "bad.tar.gz", [("20-29", "female", "White"), ("adult", "male", "Black")])
    with pytest.raises(ValueError, match=r"bad\.tar\.gz.*'adult'"):
        read_fairface(bad)
    no_labels = tmp_path / "nolabels.tar.gz"
    with tarfile.open(no_labels, "w:gz") as tar:
        info = tarfile.TarInfo("fairface_val/1.jpg")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ValueError, match="nolabels.tar.gz: no fairface_val/labels.csv"):
        read_fairface(no_labels)


@pytest.mark.data
@pytest.mark.skipif(not DEFAULT_FAIRFACE.is_file(), reason=f"{DEFAULT_FAIRFACE} not present")
def test_real_fairface_faces_are_found_by_the_nodes_detector() -> None:
    from face_perception.classification.framing import EyesMouthFraming
    from training.data.dataset import Dataset, Split
    from training.data.framed import detect_keypoints, framed_dataset

    data = read_fairface(DEFAULT_FAIRFACE)
    assert data.info["faces"] == 980 and data.counts()["train"] == 0
    # Adults only: their faces are the ones the detector must find (small children are harder).
    split = data.splits["validation"]
    rows = np.flatnonzero(split.extra["age_group"] >= AGE_GROUPS.index("20-29"))[:8]
    few = Dataset(data.name, data.labels, {"validation": Split(split.images[rows], split.labels[rows]),
                                           "train": data.splits["train"]})
    framed = framed_dataset(few, EyesMouthFraming().describe(), 48, "rgb", cache_dir=None)
    assert framed.info["framing"]["counts"]["validation"]["no_face_found"] <= 2
    assert framed.splits["validation"].images.shape == (8, 48, 48, 3)
    _, found = detect_keypoints(framed.splits["validation"].extra["source"])
    assert found.sum() >= 6


def test_fairface_results_are_recorded_in_the_gender_and_age_cards(tmp_path: Path) -> None:
    import json
    import shutil

    from face_perception.classification.classification import FaceClassifier, resolve_model_path
    from training.evaluation.fairface_figures import record_in_card

    report = {"command": "python -m training.evaluation.fairface_report --split test --card", "split": "test",
              "faces": 3,
              "models": {"gender": "g", "age": "a"}, "split_rule": "halves",
              "results": {"haar 96px": {"detected": 2 / 3, "gender accuracy by race": {"White": 0.5}}}}
    for task in ("gender", "age"):
        shipped = resolve_model_path("", task)
        model = tmp_path / f"{task}.tflite"
        shutil.copyfile(shipped, model)
        shutil.copyfile(shipped.with_name(f"{task}.card.json"), tmp_path / f"{task}.card.json")
        record_in_card(str(model), report)
        card = json.loads((tmp_path / f"{task}.card.json").read_text())
        recorded = card["metrics"]["fairface"]
        assert recorded["results"] == {"haar 96px": {"detected": 0.6667, "gender accuracy by race": {"White": 0.5}}}
        assert recorded["split"] == "test" and "test" in card["metrics"]  # the UTKFace figures stay
        assert FaceClassifier(model, task).labels  # the card still loads in the node
