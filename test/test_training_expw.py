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

"""ExpW loader: the release's layout in a gzip tar, split by photo, and the centred face picked in a scene."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import make_face_frame, write_labelled_tar

from training.data.loaders.expw import read_expw, split_by_photo
from training.data.loaders.fer2013 import EMOTION_LABELS
from training.paths import DEFAULT_EXPW

HEADER = "path,emotion,source,face_id,box_x,box_y,box_w,box_h,box_confidence"


def write_expw_tar(path: Path, faces: list[tuple[str, str, int]], extra_rows: list[str] = ()) -> Path:
    """Write a tar.gz laid out as the release: expw/<photo>_<face>.jpg, then expw/labels.csv last."""
    rng = np.random.default_rng(0)
    images, rows = [], [HEADER]
    for photo, emotion, face in faces:
        name = f"expw/{photo}_{face}.jpg"
        images.append((name, rng.integers(0, 256, (112, 112, 3), np.uint8)))
        rows.append(f"{name},{emotion},{photo}.jpg,{face},28.0,28.0,56.0,56.0,50.0")
    return write_labelled_tar(path, images, "expw/labels.csv", rows + list(extra_rows))


def test_faces_of_one_photo_stay_in_one_split_and_the_split_is_seeded() -> None:
    sources = [f"photo_{i // 3}" for i in range(300)]  # 100 photos of three faces
    first, again = split_by_photo(sources, 5, (0.8, 0.1, 0.1)), split_by_photo(sources, 5, (0.8, 0.1, 0.1))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    photos = {name: {sources[i] for i in idx} for name, idx in first.items()}
    assert not (photos["train"] & photos["validation"] or photos["train"] & photos["test"]
                or photos["validation"] & photos["test"])
    assert [len(photos[name]) for name in ("train", "validation", "test")] == [80, 10, 10]
    assert sum(len(idx) for idx in first.values()) == 300
    assert not np.array_equal(split_by_photo(sources, 6, (0.8, 0.1, 0.1))["test"], first["test"])


def test_the_tar_reads_with_labels_and_face_ids(tmp_path: Path) -> None:
    faces = [(f"scared_{i // 2}", EMOTION_LABELS[(i // 2) % 7], i % 2) for i in range(80)]
    data = read_expw(write_expw_tar(tmp_path / "expw.tar.gz", faces), seed=3)
    assert data.labels == EMOTION_LABELS and data.info["faces"] == 80 and data.info["photos"] == 40
    assert sum(data.counts().values()) == 80
    split = data.splits["train"]
    assert split.images.shape[1:] == (112, 112, 3) and split.images.dtype == np.uint8
    assert set(split.extra["expw_face_id"].tolist()) == {0, 1}
    # Both faces of a photo share its label here, so each split holds labels in pairs.
    for part in data.splits.values():
        assert all(count % 2 == 0 for count in np.bincount(part.labels, minlength=7))


def test_an_unknown_emotion_names_the_file_and_row(tmp_path: Path) -> None:
    path = write_expw_tar(tmp_path / "expw.tar.gz", [("a", "happy", 0)],
                          extra_rows=["expw/b_0.jpg,contempt,b.jpg,0,28,28,56,56,1"])
    with pytest.raises(ValueError, match=r"expw\.tar\.gz: expw/b_0\.jpg has emotion 'contempt'"):
        read_expw(path)


def test_a_missing_archive_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"ExpW data not found: .*nothing\.tar\.gz"):
        read_expw(tmp_path / "nothing.tar.gz")


def test_the_face_nearest_the_centre_is_picked_in_a_scene() -> None:
    from training.data.framed import detect_keypoints

    # ExpW's layout: the labelled face central, a neighbour (here the more confident face) beside it.
    scene = cv2.cvtColor(make_face_frame([(56, 56, 44), (104, 30, 40)], width=112, height=112), cv2.COLOR_BGR2RGB)
    central, found = detect_keypoints(scene[None], central=True)
    assert found[0]
    assert np.all(np.abs(central[0, :2] - 56) < 18), central[0, :2]
    confident, _ = detect_keypoints(scene[None])
    assert np.abs(confident[0, :2] - central[0, :2]).max() > 10  # the other rule would take the neighbour


@pytest.mark.skipif(not DEFAULT_EXPW.is_file(), reason=f"needs {DEFAULT_EXPW}")
def test_real_expw_is_balanced_and_split_by_photo() -> None:
    data = read_expw(DEFAULT_EXPW)
    assert data.info["faces"] == 5705 and data.info["skipped_undecodable"] == 0
    totals = np.sum([np.bincount(s.labels, minlength=7) for s in data.splits.values()], axis=0)
    assert totals.tolist() == [815] * 7
    assert 0.75 < len(data.splits["train"]) / 5705 < 0.85
