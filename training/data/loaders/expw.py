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
ExpW loader (``expw_faces_112px.tar.gz``): in-the-wild expressions, 815 faces of each of 7 classes.

The archive holds ``expw/<photo>_<face id>.jpg`` (112x112 colour: a square of twice the
annotated face box around its centre, so the face is the central 56x56 with its head and some
context) and ``expw/labels.csv`` (``path,emotion,source,face_id,box_*``). Many photos show
several people, so the split is **by photo** (``source``): a seeded permutation of the photos cut
80/10/10, so faces of one scene never land in two splits.

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

LABELS_MEMBER = "expw/labels.csv"
SPLIT_SEED = 2026
FRACTIONS = (0.8, 0.1, 0.1)


def split_by_photo(sources: Sequence[str], seed: int, fractions: Sequence[float]) -> dict[str, np.ndarray]:
    """Return train / validation / test face indices: the distinct photos (sorted) cut by a seeded permutation."""
    photos, photo_of_face = np.unique(np.asarray(sources), return_inverse=True)
    by_photo = split_indices(len(photos), seed, fractions)
    return {name: np.flatnonzero(np.isin(photo_of_face, idx)) for name, idx in by_photo.items()}


def read_expw(path: Path | str, seed: int = SPLIT_SEED, fractions: Sequence[float] = FRACTIONS) -> Dataset:
    """Read colour uint8 faces [N, 112, 112, 3] (R, G, B) with the node's emotion labels, split by photo."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ExpW data not found: {path} (../shared/data, see its README)")
    archive = read_labelled_archive(path, LABELS_MEMBER)
    all_images = np.stack([image for _, image in archive.decoded])
    all_labels = checked_labels(path, archive, "emotion", EMOTION_LABELS)
    sources = [row["source"] for row, _ in archive.decoded]
    face_id = np.array([int(row["face_id"]) for row, _ in archive.decoded], np.int64)
    parts = split_by_photo(sources, seed, fractions)
    splits = {name: Split(all_images[idx], all_labels[idx], {"expw_face_id": face_id[idx]})
              for name, idx in parts.items()}
    info = {"source": path.name,
            "split_rule": f"by photo (the labels' source column): the {len(set(sources))} distinct photos, sorted, "
                          f"cut {list(fractions)} by numpy default_rng({seed}) permutation",
            "split_seed": seed, "faces": len(all_labels), "photos": len(set(sources)),
            "missing_images": archive.missing_images, "skipped_undecodable": archive.skipped_undecodable,
            "class_counts": split_class_counts(splits, EMOTION_LABELS)}
    return Dataset("ExpW (class-balanced subset)", list(EMOTION_LABELS), splits, info)


def load_expw(path: Path | str, seed: int = SPLIT_SEED, fractions: Sequence[float] = FRACTIONS,
              cache_dir: Path | None = CACHE_DIR) -> Dataset:
    """:func:`read_expw`, cached under build/cache."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ExpW data not found: {path} (../shared/data, see its README)")
    return cached(path, lambda: read_expw(path, seed, fractions), cache_dir, kind="expw-rgb-v1", seed=seed,
                  fractions=list(fractions))
