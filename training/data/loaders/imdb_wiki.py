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
IMDB-WIKI metadata (``imdb.mat`` / ``wiki.mat``) with the seed paper's gender filtering.

Keeps faces whose gender is known, that have a detected face with a score above a threshold
and no second face. IMDB-WIKI codes gender 1 = male, 0 = female; we return UTKFace's order
(0 = male, 1 = female) so both gender sources share one label list.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIELDS = ("full_path", "gender", "face_location", "face_score", "second_face_score")


@dataclass
class ImdbWikiMeta:
    full_paths: list[str]
    labels: np.ndarray          # 0 = male, 1 = female
    face_locations: np.ndarray  # [N, 4] x1, y1, x2, y2 in the original photo
    counts: dict[str, int]      # what each filter removed


def _as_str(cell) -> str:
    value = np.asarray(cell).ravel()
    return str(value[0]) if value.size else ""


def read_imdb_wiki_mat(path: Path | str, min_face_score: float = 3.0) -> ImdbWikiMeta:
    """Read the metadata struct (its single top-level key, e.g. ``imdb`` or ``wiki``) and filter."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IMDB-WIKI metadata not found: {path}")
    mat = scipy.io.loadmat(str(path))
    keys = [k for k in mat if not k.startswith("__")]
    if len(keys) != 1:
        raise ValueError(f"{path}: expected one metadata struct, found {keys}")
    meta = mat[keys[0]][0, 0]
    missing = [f for f in FIELDS if f not in (meta.dtype.names or ())]
    if missing:
        raise ValueError(f"{path}: metadata struct '{keys[0]}' lacks field(s) {missing}")
    full_path = [_as_str(c) for c in np.asarray(meta["full_path"]).ravel()]
    gender = np.asarray(meta["gender"], dtype=np.float64).ravel()
    face_score = np.asarray(meta["face_score"], dtype=np.float64).ravel()
    second = np.asarray(meta["second_face_score"], dtype=np.float64).ravel()
    locations = np.array([np.asarray(c, dtype=np.float64).ravel()[:4] if np.asarray(c).size >= 4 else np.full(4, np.nan)
                          for c in np.asarray(meta["face_location"]).ravel()]).reshape(-1, 4)
    n = len(full_path)
    if not all(len(a) == n for a in (gender, face_score, second, locations)):
        raise ValueError(f"{path}: metadata fields have different lengths")
    known_gender = ~np.isnan(gender)
    has_face = np.isfinite(face_score) & (face_score > min_face_score)
    single_face = np.isnan(second)
    keep = known_gender & has_face & single_face
    counts = {"rows": n, "no_gender": int((~known_gender).sum()), "no_face": int((~has_face).sum()),
              "second_face": int((~single_face).sum()), "kept": int(keep.sum())}
    idx = np.flatnonzero(keep)
    labels = (1 - gender[idx]).astype(np.int64)  # IMDB-WIKI 1 = male -> ours 0 = male
    return ImdbWikiMeta([full_path[i] for i in idx], labels, locations[idx], counts)
