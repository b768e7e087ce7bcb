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
RAF-DB basic loader (``rafdb_basic_train_100px.tar.gz``): in-the-wild expressions, 7 classes.

The archive holds ``rafdb/train_NNNNN_aligned.jpg`` (100x100 colour, aligned) and
``rafdb/labels.csv`` (``path,emotion``, the emotion one of the node's seven names). Only the
release's training partition is here, so validation and test are our own: a seeded split
stratified by class (each class cut 80/10/10 on its own), so the rare fear and disgust faces
are in every split in proportion.

The gzip stream is read once, in archive order (a jump back would decompress it again).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from training.data.cache import cached
from training.data.dataset import Dataset, Split
from training.data.loaders.fer2013 import EMOTION_LABELS
from training.data.loaders.labelled_archive import checked_labels, read_labelled_archive, split_class_counts
from training.data.loaders.utkface import split_indices
from training.paths import CACHE_DIR

LABELS_MEMBER = "rafdb/labels.csv"
SPLIT_SEED = 2025
FRACTIONS = (0.8, 0.1, 0.1)


def stratified_split(labels: np.ndarray, seed: int, fractions: Sequence[float]) -> dict[str, np.ndarray]:
    """Return train / validation / test indices: each class cut by ``fractions`` with its own seeded permutation."""
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        for name, idx in split_indices(len(members), seed + int(label), fractions).items():
            parts[name].append(members[idx])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def read_rafdb(path: Path | str, seed: int = SPLIT_SEED, fractions: Sequence[float] = FRACTIONS) -> Dataset:
    """Read colour uint8 faces [N, 100, 100, 3] (R, G, B) with the node's emotion labels, in our seeded split."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RAF-DB data not found: {path} (pass --rafdb)")
    archive = read_labelled_archive(path, LABELS_MEMBER)
    images = [image for _, image in archive.decoded]
    names = [int(Path(row["path"]).name.split("_")[1]) for row, _ in archive.decoded]
    all_images, all_labels = np.stack(images), checked_labels(path, archive, "emotion", EMOTION_LABELS)
    number = np.array(names, np.int64)
    splits = {name: Split(all_images[idx], all_labels[idx], {"rafdb_index": number[idx]})
              for name, idx in stratified_split(all_labels, seed, fractions).items()}
    info = {"source": path.name,
            "split_rule": f"seeded split stratified by class: each class's faces (sorted by file name) cut "
                          f"{list(fractions)} by numpy default_rng({seed} + class index) permutation",
            "split_seed": seed, "faces": len(all_labels), "missing_images": archive.missing_images,
            "skipped_undecodable": archive.skipped_undecodable,
            "class_counts": split_class_counts(splits, EMOTION_LABELS)}
    return Dataset("RAF-DB basic (training partition)", list(EMOTION_LABELS), splits, info)


def load_rafdb(path: Path | str, seed: int = SPLIT_SEED, fractions: Sequence[float] = FRACTIONS,
               cache_dir: Path | None = CACHE_DIR) -> Dataset:
    """:func:`read_rafdb`, cached under build/cache."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"RAF-DB data not found: {path} (pass --rafdb)")
    return cached(path, lambda: read_rafdb(path, seed, fractions), cache_dir, kind="rafdb-rgb-v1", seed=seed,
                  fractions=list(fractions))
