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

"""RAF-DB loader: the release's layout in a gzip tar, our stratified seeded split, joined with FER-2013."""
from __future__ import annotations

from pathlib import Path
import tarfile

import cv2
import numpy as np
import pytest

from conftest import write_rafdb_tar

from training.data.dataset import Dataset, Split
from training.data.framed import join
from training.data.label_views import label_views, UNION_VIEW
from training.data.loaders.fer2013 import EMOTION_LABELS
from training.data.loaders.rafdb import read_rafdb, stratified_split
from training.paths import DEFAULT_RAFDB


def test_the_split_is_stratified_seeded_and_disjoint() -> None:
    labels = np.repeat(np.arange(7), [400, 60, 30, 900, 200, 150, 300])
    first, second = stratified_split(labels, 7, (0.8, 0.1, 0.1)), stratified_split(labels, 7, (0.8, 0.1, 0.1))
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    union = np.concatenate(list(first.values()))
    assert len(union) == len(labels) == len(set(union.tolist()))
    for c, total in enumerate(np.bincount(labels)):  # every class, the rare ones too, cut 80/10/10
        assert (labels[first["validation"]] == c).sum() == round(0.1 * total)
        assert (labels[first["test"]] == c).sum() == total - round(0.8 * total) - round(0.1 * total)
    assert not np.array_equal(stratified_split(labels, 8, (0.8, 0.1, 0.1))["test"], first["test"])


def test_the_tar_reads_in_archive_order_with_labels_last(tmp_path: Path) -> None:
    labels = [EMOTION_LABELS[i % 7] for i in range(70)]
    data = read_rafdb(write_rafdb_tar(tmp_path / "raf.tar.gz", labels), seed=3)
    assert data.labels == EMOTION_LABELS
    assert data.counts() == {"train": 56, "validation": 7, "test": 7}
    split = data.splits["train"]
    assert split.images.shape[1:] == (100, 100, 3) and split.images.dtype == np.uint8
    # The file number travels with the face, and its label is the one labels.csv gave it.
    for index, label in zip(split.extra["rafdb_index"], split.labels):
        assert EMOTION_LABELS[label] == labels[index - 1]
    assert data.info["split_seed"] == 3 and data.info["faces"] == 70
    assert data.info["class_counts"]["test"]["fear"] == 1


def test_an_unknown_emotion_name_names_the_file_and_row(tmp_path: Path) -> None:
    path = write_rafdb_tar(tmp_path / "raf.tar.gz", ["happy"] * 10,
                           extra_rows=["rafdb/train_00011_aligned.jpg,contempt"])
    with pytest.raises(ValueError, match=r"raf\.tar\.gz: rafdb/train_00011_aligned\.jpg has emotion 'contempt'"):
        read_rafdb(path)


def test_a_missing_archive_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"RAF-DB data not found: .*nothing\.tar\.gz \(pass --rafdb\)"):
        read_rafdb(tmp_path / "nothing.tar.gz")


def test_joined_sets_keep_each_sets_view_and_the_union_first() -> None:
    def emotion_set(name: str, labels: list[int], with_row: bool) -> Dataset:
        y = np.array(labels, np.int64)
        extra = {"ferplus_majority": y.copy(), "ferplus_soft": np.eye(7, dtype=np.float32)[y]}
        if with_row:
            extra["row"] = np.arange(len(y))
        split = Split(np.zeros((len(y), 4, 4), np.uint8), y, extra)
        return Dataset(name, list(EMOTION_LABELS), {"train": split, "validation": split, "test": split})

    fer = emotion_set("FER-2013", [0, 3, 6, 6], with_row=True)
    raf = emotion_set("RAF-DB", [2, 2, 1], with_row=False)
    joined = join([fer, raf], ["FER-2013", "RAF-DB"], codes=[0, 1])
    test = joined.splits["test"]
    assert "row" not in test.extra  # only what every set has
    np.testing.assert_array_equal(test.extra["source_set"], [0, 0, 0, 0, 1, 1, 1])
    views = label_views("emotion", test, list(EMOTION_LABELS))
    assert next(iter(views)) == UNION_VIEW and views[UNION_VIEW][0].sum() == 7
    assert views["FER+ majority labels"][0].sum() == 4 and views["RAF-DB labels"][0].sum() == 3
    assert views["FER-2013 original labels"][0].sum() == 4
    with pytest.raises(ValueError, match="cannot join"):
        join([fer, Dataset("x", ["a"], {})], ["FER-2013", "x"])


@pytest.mark.data
@pytest.mark.skipif(not DEFAULT_RAFDB.is_file(), reason=f"needs {DEFAULT_RAFDB}")
def test_real_rafdb_faces_are_found_by_the_node_detector_once_padded(tmp_path: Path) -> None:
    from training.data.framed import detect_keypoints

    with tarfile.open(DEFAULT_RAFDB) as tar:
        faces = []
        for member in tar:
            if member.name.endswith(".jpg"):
                data = np.frombuffer(tar.extractfile(member).read(), np.uint8)
                faces.append(cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
            if len(faces) == 20:
                break
    keypoints, found = detect_keypoints(np.stack(faces))
    assert found.mean() >= 0.8
    # Aligned faces: the eyes level, in the upper half, inside the chip.
    eyes = keypoints[found][:, :2]
    assert np.all(np.abs(eyes[:, 0, 1] - eyes[:, 1, 1]) < 8) and np.all(eyes[..., 1] < 60)


def test_an_unknown_emotion_set_is_refused_with_the_choices() -> None:
    from face_perception.classification.framing import EyesMouthFraming
    from training.data.tasks import load_task_data

    message = r"--sets affectnet: unknown emotion data set; choose from \('fer2013', 'rafdb', 'expw'\)"
    with pytest.raises(SystemExit, match=message):
        load_task_data("emotion", framing=EyesMouthFraming().describe(), emotion_sets=["rafdb", "affectnet"])
