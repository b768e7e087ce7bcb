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
FER+ (Barsoum et al. 2016): ten crowd votes per FER-2013 face, as targets for the node's 7 classes.

``ferplus_votes.csv`` has one row per FER-2013 face (``fer2013_row`` = 0-based data row of the
FER-2013 CSV) with vote counts ``neutral, happiness, surprise, sadness, anger, disgust, fear,
contempt, unknown, NF``. How they become targets (recorded in the model card):

- Outlier removal as in the FER+ paper's code: an emotion with a single vote gets 0 votes.
- Majority label (the FER+ papers' test protocol): the class with more than half of the remaining
  votes (unknown and not-a-face included in the total); faces whose majority is unknown, NF or
  contempt, or that have no such majority, get no majority label (-1).
- Soft target: the remaining votes of the 7 classes, normalised. ``contempt`` has no place among
  the node's classes, so its votes are dropped (not folded into another class). Faces whose
  largest remaining vote is unknown or NF, or with no emotion vote left, have no soft target.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.data.dataset import Dataset, Split

VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
                "unknown", "NF")
# FER+ vote column -> FER-2013 class name (the node's labels); contempt, unknown, NF map nowhere.
VOTE_TO_CLASS = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
                 "sadness": "sad", "surprise": "surprise", "neutral": "neutral"}
NOT_AN_EMOTION = ("contempt", "unknown", "NF")
TARGET_RULE = ("FER+ votes: single votes removed as outliers; contempt votes dropped (no node class); "
               "soft target = remaining votes of the 7 classes normalised, none when unknown or NF has "
               "the most votes; majority label = class with > 50% of the remaining votes (unknown and NF "
               "counted), none when that is contempt, unknown or NF")


def read_votes(path: Path | str) -> pd.DataFrame:
    """Return the votes CSV, checked: every vote column present, non-negative counts, unique rows."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FER+ votes not found: {path}")
    frame = pd.read_csv(path)
    missing = {"fer2013_row", "Usage", *VOTE_COLUMNS} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    votes = frame[list(VOTE_COLUMNS)].to_numpy()
    if (votes < 0).any():
        raise ValueError(f"{path}: negative vote counts")
    if frame["fer2013_row"].duplicated().any():
        raise ValueError(f"{path}: a FER-2013 row has more than one FER+ row")
    return frame


def votes_to_targets(votes: np.ndarray, labels: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """
    Vote counts [N, 10] (VOTE_COLUMNS order) -> (soft targets [N, len(labels)], majority [N]).

    Rows without a soft target are all zero; rows without a majority label are -1.
    """
    votes = np.asarray(votes, dtype=np.float64).copy()
    if votes.ndim != 2 or votes.shape[1] != len(VOTE_COLUMNS):
        raise ValueError(f"votes must be [N, {len(VOTE_COLUMNS)}], got {votes.shape}")
    votes[votes <= 1.0] = 0.0  # single votes are outliers (FER+ paper's processing)
    column = {name: i for i, name in enumerate(VOTE_COLUMNS)}
    order = [column[vote] for vote, _ in sorted(VOTE_TO_CLASS.items(), key=lambda kv: labels.index(kv[1]))]
    emotion_votes = votes[:, order]  # now in `labels` order
    total = votes.sum(axis=1)

    top = votes.argmax(axis=1)
    top_name = np.array(VOTE_COLUMNS)[top]
    has_majority = (votes.max(axis=1) > 0.5 * total) & ~np.isin(top_name, NOT_AN_EMOTION)
    class_of_vote = {v: labels.index(c) for v, c in VOTE_TO_CLASS.items()}
    majority = np.array([class_of_vote.get(name, -1) for name in top_name], dtype=np.int64)
    majority[~has_majority] = -1

    unknown_or_nf = np.maximum(votes[:, column["unknown"]], votes[:, column["NF"]])
    emotion_sum = emotion_votes.sum(axis=1)
    has_soft = (emotion_sum > 0) & (emotion_votes.max(axis=1) >= unknown_or_nf)
    soft = np.zeros_like(emotion_votes)
    soft[has_soft] = emotion_votes[has_soft] / emotion_sum[has_soft, None]
    return soft.astype(np.float32), majority


def attach_ferplus(dataset: Dataset, votes_path: Path | str) -> Dataset:
    """
    Attach FER+ targets to FER-2013.

    FER-2013 with FER+ targets: every split gets ``extra['ferplus_soft']`` and
    ``extra['ferplus_majority']``; faces without a FER+ row have a zero soft target and -1.

    Needs the FER-2013 splits to carry ``extra['row']`` (the CSV data row of each face).
    """
    frame = read_votes(votes_path)
    soft, majority = votes_to_targets(frame[list(VOTE_COLUMNS)].to_numpy(), dataset.labels)
    row_to_index = pd.Series(np.arange(len(frame)), index=frame["fer2013_row"].to_numpy())
    splits = {}
    for name, split in dataset.splits.items():
        if "row" not in split.extra:
            raise ValueError("FER-2013 split has no row numbers: FER+ votes need the CSV layout")
        index = row_to_index.reindex(split.extra["row"]).to_numpy()
        found = ~np.isnan(index)
        split_soft = np.zeros((len(split), len(dataset.labels)), np.float32)
        split_majority = np.full(len(split), -1, np.int64)
        split_soft[found] = soft[index[found].astype(np.int64)]
        split_majority[found] = majority[index[found].astype(np.int64)]
        splits[name] = Split(split.images, split.labels,
                             {**split.extra, "ferplus_soft": split_soft, "ferplus_majority": split_majority})
    info = {**dataset.info, "ferplus_votes": Path(votes_path).name, "ferplus_rule": TARGET_RULE,
            "ferplus_counts": {name: {"faces": len(s), "soft_target": int((s.extra["ferplus_soft"].sum(1) > 0).sum()),
                                      "majority_label": int((s.extra["ferplus_majority"] >= 0).sum())}
                               for name, s in splits.items()}}
    return Dataset("FER-2013 + FER+", dataset.labels, splits, info)
