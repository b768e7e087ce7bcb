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

"""Loaders on tiny files the tests write: FER CSV and folders, UTKFace names and tar, IMDB-WIKI .mat."""
from __future__ import annotations

import gzip
import io
from pathlib import Path
import tarfile

import cv2
import numpy as np
import pytest

from training.data.cache import cached, load_dataset, save_dataset
from training.data.loaders.fer2013 import EMOTION_LABELS, load_fer2013, read_fer2013_csv, read_fer2013_folder
from training.data.loaders.imdb_wiki import read_imdb_wiki_mat
from training.data.loaders.utkface import parse_utk_name, read_utkface, split_indices


def _fer_rows(n: int, usage: str, rng: np.random.Generator) -> list[str]:
    rows = []
    for i in range(n):
        pixels = " ".join(str(v) for v in rng.integers(0, 256, 48 * 48))
        rows.append(f"{i % 7},{pixels},{usage}")
    return rows


def write_fer_csv(path: Path, gz: bool = False, bad_row: bool = False) -> Path:
    rng = np.random.default_rng(0)
    rows = ["emotion,pixels,Usage"] + _fer_rows(7, "Training", rng) + _fer_rows(3, "PublicTest", rng) \
        + _fer_rows(4, "PrivateTest", rng)
    if bad_row:
        rows.append("3,1 2 3,Training")
    text = "\n".join(rows) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_fer_csv_splits_by_usage(tmp_path: Path, gz: bool) -> None:
    path = write_fer_csv(tmp_path / ("fer.csv.gz" if gz else "fer.csv"), gz=gz)
    data = read_fer2013_csv(path)
    assert data.counts() == {"train": 7, "validation": 3, "test": 4}
    assert data.labels == EMOTION_LABELS
    assert data.splits["train"].images.shape == (7, 48, 48)
    assert data.splits["train"].images.dtype == np.uint8
    assert list(data.splits["train"].labels) == [0, 1, 2, 3, 4, 5, 6]


def test_fer_csv_pixels_round_trip(tmp_path: Path) -> None:
    image = (np.arange(48 * 48) % 256).astype(np.uint8)
    path = tmp_path / "one.csv"
    path.write_text("emotion,pixels,Usage\n5," + " ".join(map(str, image)) + ",PrivateTest\n"
                    "1," + " ".join(["7"] * 2304) + ",Training\n")
    data = read_fer2013_csv(path)
    np.testing.assert_array_equal(data.splits["test"].images[0], image.reshape(48, 48))
    assert data.splits["test"].labels[0] == 5


def test_fer_csv_malformed_row_names_file_and_row(tmp_path: Path) -> None:
    path = write_fer_csv(tmp_path / "bad.csv", bad_row=True)
    with pytest.raises(ValueError, match=r"bad\.csv: row 14 has 3 pixels"):
        read_fer2013_csv(path)


def test_fer_csv_missing_column_and_bad_usage(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("emotion,pixels\n1," + " ".join(["0"] * 2304) + "\n")
    with pytest.raises(ValueError, match="missing column"):
        read_fer2013_csv(path)
    path.write_text("emotion,pixels,Usage\n1," + " ".join(["0"] * 2304) + ",Holdout\n")
    with pytest.raises(ValueError, match="Usage"):
        read_fer2013_csv(path)
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_fer2013(tmp_path / "nope.csv", cache_dir=None)


def test_fer_folder_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for split, classes in (("train", ("happy", "sad", "angry")), ("test", ("happy", "disgust"))):
        for name in classes:
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            for i in range(2):
                cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, (48, 48), dtype=np.uint8))
    cv2.imwrite(str(tmp_path / "train" / "sad" / "big.png"), np.zeros((96, 96), np.uint8))  # resized
    data = read_fer2013_folder(tmp_path)
    assert data.counts() == {"train": 7, "test": 4, "validation": 4}
    assert sorted(set(data.splits["test"].labels)) == [EMOTION_LABELS.index("disgust"), EMOTION_LABELS.index("happy")]
    assert data.splits["train"].images.shape[1:] == (48, 48)
    (tmp_path / "train" / "bored").mkdir()
    with pytest.raises(ValueError, match="bored"):
        read_fer2013_folder(tmp_path)


def test_cache_round_trip_and_hit(tmp_path: Path) -> None:
    path = write_fer_csv(tmp_path / "fer.csv")
    calls = []

    def loader():
        calls.append(1)
        return read_fer2013_csv(path)

    first = cached(path, loader, tmp_path / "cache")
    second = cached(path, loader, tmp_path / "cache")
    assert len(calls) == 1  # second call came from the cache
    for name in first.splits:
        np.testing.assert_array_equal(first.splits[name].images, second.splits[name].images)
    assert second.labels == EMOTION_LABELS
    save_dataset(first, tmp_path / "x.npz")
    assert load_dataset(tmp_path / "x.npz").counts() == first.counts()


def test_utk_name_parsing() -> None:
    assert parse_utk_name("UTKFace/26_1_2_20170116174525125.jpg.chip.jpg").gender == 1
    label = parse_utk_name("100_0_0_20170112213500903.jpg.chip.jpg")
    assert (label.age, label.gender, label.race) == (100, 0, 0)
    assert parse_utk_name("55_0_0_20170116232725357jpg.chip.jpg").age == 55  # missing dot, still parseable
    for bad in ("39_1_20170116174525125.jpg.chip.jpg", "x_1_0_1.jpg.chip.jpg", "20_2_0_1.jpg.chip.jpg", "README"):
        assert parse_utk_name(bad) is None, bad


def test_utk_split_is_seeded_and_disjoint() -> None:
    a, b = split_indices(100, seed=3), split_indices(100, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert [len(a[k]) for k in ("train", "validation", "test")] == [80, 10, 10]
    assert len(np.unique(np.concatenate(list(a.values())))) == 100
    assert not np.array_equal(split_indices(100, seed=4)["test"], a["test"])
    with pytest.raises(ValueError):
        split_indices(10, seed=0, fractions=(0.5, 0.5, 0.5))


def test_utk_tar_reads_labels_and_skips_malformed(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(2)
    names = [f"{20 + i}_{i % 2}_{i % 5}_2017011{i:04d}.jpg.chip.jpg" for i in range(20)]
    names += ["39_1_20170116174525125.jpg.chip.jpg", "61_1_20170109142408075.jpg.chip.jpg"]
    tar_path = tmp_path / "utk.tar"
    with tarfile.open(tar_path, "w") as tar:
        for name in names:
            ok, blob = cv2.imencode(".jpg", rng.integers(0, 256, (100, 100, 3), dtype=np.uint8))
            info = tarfile.TarInfo(f"UTKFace/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob.tobytes()))
    data = read_utkface(tar_path, seed=7, side=48)
    assert data.info["skipped_malformed_names"] == 2
    assert "skipped 2 malformed" in capsys.readouterr().out
    assert sum(data.counts().values()) == 20
    assert data.counts() == {"train": 16, "validation": 2, "test": 2}
    assert data.labels == ["male", "female"]
    train = data.splits["train"]
    assert train.images.shape[1:] == (48, 48)
    # Labels and ages follow the file names: age = 20 + i, gender = i % 2.
    assert all(g == (a - 20) % 2 for g, a in zip(train.labels, train.extra["age"]))


def test_imdb_wiki_mat_filtering(tmp_path: Path) -> None:
    import scipy.io

    n = 6
    meta = np.zeros((1, 1), dtype=[(f, "O") for f in
                                   ("dob", "photo_taken", "full_path", "gender", "name",
                                    "face_location", "face_score", "second_face_score")])

    def cells(values):  # a MATLAB cell row: (1, n) object array, one array per cell
        out = np.empty((1, n), dtype=object)
        for i, value in enumerate(values):
            out[0, i] = value
        return out

    meta["full_path"][0, 0] = cells(np.array([f"01/img{i}.jpg"]) for i in range(n))
    meta["gender"][0, 0] = np.array([[1.0, 0.0, np.nan, 1.0, 0.0, 1.0]])
    meta["face_score"][0, 0] = np.array([[4.5, 3.5, 4.0, -np.inf, 5.0, 1.0]])
    meta["second_face_score"][0, 0] = np.array([[np.nan, np.nan, np.nan, np.nan, 2.0, np.nan]])
    meta["face_location"][0, 0] = cells(np.array([[1.0, 2.0, 30.0, 40.0]]) for _ in range(n))
    for f in ("dob", "photo_taken", "name"):
        meta[f][0, 0] = np.zeros((1, n))
    path = tmp_path / "imdb.mat"
    scipy.io.savemat(str(path), {"imdb": meta})
    result = read_imdb_wiki_mat(path)
    assert result.full_paths == ["01/img0.jpg", "01/img1.jpg"]
    assert list(result.labels) == [0, 1]  # IMDB 1 = male -> ours 0 = male
    assert result.counts == {"rows": 6, "no_gender": 1, "no_face": 2, "second_face": 1, "kept": 2}
    np.testing.assert_array_equal(result.face_locations[0], [1, 2, 30, 40])
    scipy.io.savemat(str(tmp_path / "bad.mat"), {"wiki": np.zeros((1, 1), dtype=[("gender", "O")])})
    with pytest.raises(ValueError, match="bad.mat.*lacks"):
        read_imdb_wiki_mat(tmp_path / "bad.mat")
