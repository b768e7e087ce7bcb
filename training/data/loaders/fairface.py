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
FairFace loader (``fairface_val_1k_224px.tar.gz``): gender, age group and race, balanced by race.

The archive holds ``fairface_val/<index>.jpg`` (224x224 colour, the face about two thirds of
the image) and ``fairface_val/labels.csv`` (``path,age,gender,race``; age one of FairFace's nine
groups). The faces are too few to train on, so ``train`` is empty and the rest is cut in two
halves, validation and test, seeded and stratified by age group x gender.

The gzip stream is read once, in archive order (the labels may come last).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from training.data.cache import cached
from training.data.dataset import Dataset, Split
from training.data.loaders.labelled_archive import read_labelled_archive
from training.data.loaders.utkface import GENDER_LABELS
from training.paths import CACHE_DIR, DEFAULT_FAIRFACE

LABELS_MEMBER = "fairface_val/labels.csv"
SPLIT_SEED = 2026
AGE_GROUPS = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]
# First age (years) of every group after the first: a predicted age maps to a group by these.
AGE_GROUP_STARTS = (3, 10, 20, 30, 40, 50, 60, 70)
RACE_LABELS = ["East Asian", "Southeast Asian", "Indian", "Black", "White", "Middle Eastern", "Latino_Hispanic"]


def age_group_of(years: np.ndarray | float) -> np.ndarray:
    """Return FairFace's age group index for ages in years (a group holds [start, next start))."""
    return np.searchsorted(np.asarray(AGE_GROUP_STARTS, np.float64), np.asarray(years, np.float64), side="right")


def halves(strata: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Return sorted validation / test indices: each stratum permuted on its own, its first half (floor) validation."""
    parts: dict[str, list[np.ndarray]] = {"validation": [], "test": []}
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)[np.random.default_rng([seed, int(stratum)]).permutation(
            int((strata == stratum).sum()))]
        parts["validation"].append(members[: len(members) // 2])
        parts["test"].append(members[len(members) // 2:])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def _index(path: Path, value: str, names: list[str], row: dict[str, str], column: str) -> int:
    if value not in names:
        raise ValueError(f"{path}: {row['path']} has {column} '{value}', expected one of {names}")
    return names.index(value)


def read_fairface(path: Path | str, seed: int = SPLIT_SEED) -> Dataset:
    """Read colour uint8 faces [N, 224, 224, 3] (R, G, B) with gender labels; age group, race, index in extras."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FairFace data not found: {path} (pass --fairface)")
    archive = read_labelled_archive(path, LABELS_MEMBER)
    indices = {}
    for row in archive.rows:  # every row's labels checked, also where the image is missing
        indices[row["path"]] = (_index(path, row["gender"].strip().lower(), GENDER_LABELS, row, "gender"),
                                _index(path, row["age"].strip(), AGE_GROUPS, row, "age"),
                                _index(path, row["race"].strip(), RACE_LABELS, row, "race"))
    if not archive.decoded:
        raise ValueError(f"{path}: no face of {LABELS_MEMBER} could be read")
    all_images = np.stack([image for _, image in archive.decoded])
    labels, ages, races = (np.array(column, np.int64)
                           for column in zip(*(indices[row["path"]] for row, _ in archive.decoded)))
    numbers = [int(Path(row["path"]).stem) for row, _ in archive.decoded]
    extra = {"age_group": ages, "race": races, "fairface_index": np.array(numbers, np.int64)}
    rows_of = halves(extra["age_group"] * len(GENDER_LABELS) + labels, seed)
    rows_of["train"] = np.zeros(0, np.int64)
    splits = {name: Split(all_images[idx], labels[idx], {k: v[idx] for k, v in extra.items()})
              for name, idx in rows_of.items()}
    info = {"source": path.name,
            "split_rule": "no train split (too few faces); the faces (sorted by file name) grouped by age group x "
                          f"gender, each group permuted by numpy default_rng([{seed}, age group index * 2 + gender "
                          "index]) and its first half (rounded down) made validation, the rest test",
            "split_seed": seed, "faces": len(labels), "missing_images": archive.missing_images,
            "skipped_undecodable": archive.skipped_undecodable,
            "age_groups": AGE_GROUPS, "races": RACE_LABELS,
            "counts": {name: {"faces": len(split),
                              "gender": {g: int((split.labels == i).sum()) for i, g in enumerate(GENDER_LABELS)},
                              "age_group": {a: int((split.extra["age_group"] == i).sum())
                                            for i, a in enumerate(AGE_GROUPS)},
                              "race": {r: int((split.extra["race"] == i).sum()) for i, r in enumerate(RACE_LABELS)}}
                       for name, split in splits.items() if name != "train"}}
    return Dataset("FairFace (validation release, 1k)", list(GENDER_LABELS), splits, info)


def load_fairface(path: Path | str = DEFAULT_FAIRFACE, seed: int = SPLIT_SEED,
                  cache_dir: Path | None = CACHE_DIR) -> Dataset:
    """:func:`read_fairface`, cached under build/cache."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FairFace data not found: {path} (pass --fairface)")
    return cached(path, lambda: read_fairface(path, seed), cache_dir, kind="fairface-rgb-v1", seed=seed)
