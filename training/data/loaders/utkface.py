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
UTKFace gender loader: labels come from file names ``<age>_<gender>_<race>_<date>.jpg.chip.jpg``.

Faces are decoded to grey, or to colour (R, G, B) for rgb models.

Reads straight from the tar (or an unpacked folder), skips malformed names with a count and
makes a seeded split by file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re
import tarfile
from typing import Iterator, Sequence

import numpy as np

from training.data.cache import cached
from training.data.dataset import Dataset, Split
from training.paths import CACHE_DIR

GENDER_LABELS = ["male", "female"]  # UTKFace: 0 = male, 1 = female
_NAME = re.compile(r"^(\d+)_([01])_([0-4])_(\d+)\.?jpg(\.chip\.jpg)?$")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class UTKLabel:
    age: int
    gender: int
    race: int


def parse_utk_name(name: str) -> UTKLabel | None:
    """Labels from a UTKFace file name, or None when the name is malformed (e.g. no race)."""
    match = _NAME.match(Path(name).name)
    if match is None:
        return None
    return UTKLabel(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def split_indices(n: int, seed: int, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> dict[str, np.ndarray]:
    """Seeded permutation cut into train / validation / test by the given fractions."""
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions {fractions} must be three non-negative numbers summing to 1")
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return {"train": np.sort(order[:n_train]), "validation": np.sort(order[n_train:n_train + n_val]),
            "test": np.sort(order[n_train + n_val:])}


def _iter_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, JPEG bytes) in sorted name order, from a tar or a folder tree."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            yield file.name, file.read_bytes()
        return
    with tarfile.open(path) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith(IMAGE_SUFFIXES)),
                         key=lambda m: m.name)
        for member in members:
            handle = tar.extractfile(member)
            if handle is not None:
                yield Path(member.name).name, handle.read()


COLORS = ("gray", "rgb")


def read_utkface(path: Path | str, seed: int, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 side: int = 48, color: str = "gray") -> Dataset:
    """
    Decode every well-named face to ``side`` x ``side`` and split by file.

    Decode every well-named face to ``side`` x ``side`` and split by file: grey uint8
    [N, side, side], or with ``color="rgb"`` uint8 [N, side, side, 3] in the order R, G, B.
    """
    import cv2

    if color not in COLORS:
        raise ValueError(f"color '{color}' is not one of {COLORS}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"UTKFace data not found: {path} (pass --data)")
    images, genders, ages, races, names = [], [], [], [], []
    malformed: list[str] = []
    undecodable: list[str] = []
    for name, blob in _iter_files(path):
        label = parse_utk_name(name)
        if label is None:
            malformed.append(name)
            continue
        flag = cv2.IMREAD_GRAYSCALE if color == "gray" else cv2.IMREAD_COLOR
        image = cv2.imdecode(np.frombuffer(blob, np.uint8), flag)
        if image is None:
            undecodable.append(name)
            continue
        if color == "rgb":
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        interp = cv2.INTER_AREA if image.shape[0] > side else cv2.INTER_LINEAR
        images.append(cv2.resize(image, (side, side), interpolation=interp))
        genders.append(label.gender)
        ages.append(label.age)
        races.append(label.race)
        names.append(name)
    if malformed:
        print(f"{path}: skipped {len(malformed)} malformed file name(s): {malformed[:5]}")
    if not images:
        raise ValueError(f"{path}: no UTKFace images with well-formed names")
    all_images = np.stack(images)
    labels = np.array(genders, dtype=np.int64)
    extra = {"age": np.array(ages, dtype=np.int64), "race": np.array(races, dtype=np.int64)}
    splits = {}
    for split, idx in split_indices(len(labels), seed, fractions).items():
        splits[split] = Split(all_images[idx], labels[idx], {k: v[idx] for k, v in extra.items()})
    info = {"source": path.name, "layout": "tar" if path.is_file() else "folder",
            "split_rule": f"seeded random split by file, numpy default_rng({seed}) permutation of the "
                          f"sorted file names, fractions {list(fractions)}",
            "split_seed": seed, "split_fractions": list(fractions),
            "skipped_malformed_names": len(malformed), "skipped_undecodable": len(undecodable),
            "faces": len(labels), "decoded_size": side}
    if color != "gray":  # grey records stay as they were before colour existed
        info["decoded_color"] = color
    return Dataset("UTKFace", list(GENDER_LABELS), splits, info)


def load_utkface_gender(path: Path | str, seed: int, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                        side: int = 48, cache_dir: Path | None = CACHE_DIR, color: str = "gray") -> Dataset:
    path = Path(path)
    if path.is_dir():
        return read_utkface(path, seed, fractions, side, color)
    if not path.is_file():
        raise FileNotFoundError(f"UTKFace data not found: {path} (pass --data)")
    # The colour is part of the cache key (grey keeps its earlier key, "utkface-gray-v2").
    return cached(path, lambda: read_utkface(path, seed, fractions, side, color), cache_dir,
                  kind=f"utkface-{color}-v2", seed=seed, fractions=list(fractions), side=side)
