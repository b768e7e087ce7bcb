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
LFW gender loader (``lfw_gender_112px.tar``): adults in the wild, split by person.

The tar holds ``lfw/<Person>/<Person>_<NNNN>.jpg`` (112x112 colour) and ``lfw/labels.csv``
(``path,person,gender``). Many people have several photos, so the seeded split is over
people, never over images: nobody is in two splits. ``read_labels`` and ``read_photo`` are the
archive's one reader, also for the identity measurements (scripts/measurements/identity_lfw.py)
and the identity tests (test/identity_frames.py); the archive's path is ``training.paths.DEFAULT_LFW``.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
import tarfile
from typing import Sequence

import numpy as np

from training.data.cache import cached
from training.data.dataset import Dataset, Split
from training.data.loaders.utkface import GENDER_LABELS, split_indices
from training.paths import CACHE_DIR

LABELS_MEMBER = "lfw/labels.csv"
# No ages in LFW: the age field of its faces (kept so splits can be joined with UTKFace's).
NO_AGE = -1


def read_labels(tar: tarfile.TarFile) -> list[dict[str, str]]:
    """Return the rows of the archive's ``lfw/labels.csv`` (path, person, gender), in file order."""
    return list(csv.DictReader(io.TextIOWrapper(tar.extractfile(LABELS_MEMBER), encoding="utf-8")))


def read_photo(tar: tarfile.TarFile, path: str) -> np.ndarray:
    """Return one photo of the archive, BGR uint8; ValueError naming ``path`` when it is no decodable image."""
    import cv2

    handle = tar.extractfile(path)
    image = None if handle is None else cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode {path}")
    return image


def read_lfw(path: Path | str, seed: int, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> Dataset:
    """
    Read LFW faces in colour with gender labels, split by person.

    Colour uint8 [N, 112, 112, 3] faces (R, G, B), gender labels as UTKFace's (0 male,
    1 female), split by person with a seeded permutation of the sorted names.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LFW data not found: {path} (pass --lfw)")
    with tarfile.open(path) as tar:
        images, genders, people, undecodable = [], [], [], 0
        for row in sorted(read_labels(tar), key=lambda r: r["path"]):
            try:
                image = read_photo(tar, row["path"])
            except ValueError:
                undecodable += 1
                continue
            images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            genders.append(GENDER_LABELS.index(row["gender"]))
            people.append(row["person"])
    names = sorted(set(people))
    person_split = split_indices(len(names), seed, fractions)
    split_of = {names[i]: split for split, idx in person_split.items() for i in idx}
    all_images, labels = np.stack(images), np.array(genders, np.int64)
    number = {name: i for i, name in enumerate(names)}
    person_index = np.array([number[person] for person in people], np.int64)
    splits = {}
    for split in ("train", "validation", "test"):
        idx = np.array([i for i, person in enumerate(people) if split_of[person] == split], np.int64)
        splits[split] = Split(all_images[idx], labels[idx], {"age": np.full(len(idx), NO_AGE, np.int64),
                                                             "race": np.full(len(idx), -1, np.int64),
                                                             "person": person_index[idx]})
    info = {"source": path.name, "split_rule": f"seeded split by person, numpy default_rng({seed}) permutation "
                                               f"of the sorted person names, fractions {list(fractions)}",
            "split_seed": seed, "people": len(names), "faces": len(labels), "skipped_undecodable": undecodable}
    return Dataset("LFW", list(GENDER_LABELS), splits, info)


def load_lfw_gender(path: Path | str, seed: int, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                    cache_dir: Path | None = CACHE_DIR) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LFW data not found: {path} (pass --lfw)")
    return cached(path, lambda: read_lfw(path, seed, fractions), cache_dir, kind="lfw-rgb-v2", seed=seed,
                  fractions=list(fractions))
