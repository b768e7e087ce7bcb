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
Age groups a robot can act on, from an age model's distribution over age bins.

FairFace's nine groups (:data:`AGE_GROUPS`) and "a child under 13" (:data:`CHILD_UNDER`)
are intervals of years; the model's bins are intervals too (the card's
``age_bins.edges_years``). Each bin's probability is shared among the intervals in
proportion to the years of the bin each one covers, as if the age were uniform within the
bin: bin 18-20 ([18, 21)) gives 2/3 of its mass to 10-19 and 1/3 to 20-29. A card without
edges (older cards) counts each bin wholly in the interval holding its centre.

The child probability is the mass under 13 years, Platt-scaled on its logit with the card's
``child_calibration`` (a, b): ``sigmoid(a * logit(p) + b)``; a = 1, b = 0 is the raw mass.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Sequence

import numpy as np

# (name, first year, first year of the next group); the last group is open-ended.
AGE_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("0-2", 0.0, 3.0),
    ("3-9", 3.0, 10.0),
    ("10-19", 10.0, 20.0),
    ("20-29", 20.0, 30.0),
    ("30-39", 30.0, 40.0),
    ("40-49", 40.0, 50.0),
    ("50-59", 50.0, 60.0),
    ("60-69", 60.0, 70.0),
    ("70+", 70.0, math.inf),
)
AGE_GROUP_NAMES: tuple[str, ...] = tuple(name for name, _, _ in AGE_GROUPS)
# A child: under this many years (the bins' edges include 13, so no bin is split).
CHILD_UNDER = 13.0
# Raw probabilities are kept this far from 0 and 1 so their logit is finite.
LOGIT_EPSILON = 1e-6


@dataclass(frozen=True)
class ChildCalibration:
    """Platt scaling of P(under 13) on its logit: ``sigmoid(a * logit(p) + b)``; (1, 0) = the raw mass."""

    a: float = 1.0
    b: float = 0.0

    def apply(self, raw: float) -> float:
        """Return the calibrated probability of a raw mass under 13 years (NaN stays NaN)."""
        if not math.isfinite(raw):
            return math.nan
        p = min(max(raw, LOGIT_EPSILON), 1.0 - LOGIT_EPSILON)
        z = self.a * math.log(p / (1.0 - p)) + self.b
        # Both branches avoid overflow in exp for large |z|.
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def overlap_matrix(edges: Sequence[float], intervals: Sequence[tuple[float, float]]) -> np.ndarray:
    """
    Return the share [bins, intervals] of every bin's years each interval covers.

    ``edges``: the bins' edges (bins + 1 of them, strictly increasing), bin i = [edges[i],
    edges[i+1]). Rows sum to 1 where the intervals cover the bin (they cover 0..inf here).
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0):
        raise ValueError(f"age bin edges {list(edges)} must be at least two strictly increasing numbers")
    starts, ends = e[:-1, None], e[1:, None]
    lows = np.array([low for low, _ in intervals])[None, :]
    highs = np.array([high for _, high in intervals])[None, :]
    covered = np.clip(np.minimum(ends, highs) - np.maximum(starts, lows), 0.0, None)
    return covered / (ends - starts)


def centre_matrix(centers: Sequence[float], intervals: Sequence[tuple[float, float]]) -> np.ndarray:
    """Return [bins, intervals] with a 1 where an interval holds the bin's centre (cards without edges)."""
    c = np.asarray(centers, dtype=np.float64)[:, None]
    lows = np.array([low for low, _ in intervals])[None, :]
    highs = np.array([high for _, high in intervals])[None, :]
    inside = (c >= lows) & (c < highs)
    inside[:, 0] |= c[:, 0] < lows[0, 0]  # a centre below the first interval counts in it
    return inside.astype(np.float64)


class AgeGroupReader:
    """Reads age-bin distributions as FairFace group probabilities and P(under 13), for one card's bins."""

    def __init__(self, centers: Sequence[float], edges: Sequence[float] | None = None,
                 calibration: ChildCalibration = ChildCalibration()) -> None:
        groups = [(low, high) for _, low, high in AGE_GROUPS]
        child = [(0.0, CHILD_UNDER), (CHILD_UNDER, math.inf)]
        if edges is not None:
            if len(edges) != len(centers) + 1:
                raise ValueError(f"{len(edges)} age bin edges for {len(centers)} bins")
            self._groups, self._child = overlap_matrix(edges, groups), overlap_matrix(edges, child)[:, 0]
        else:
            self._groups, self._child = centre_matrix(centers, groups), centre_matrix(centers, child)[:, 0]
        self.calibration = calibration

    def group_probabilities(self, probabilities: Sequence[float]) -> np.ndarray:
        """Return the probability of every group in :data:`AGE_GROUPS` (normalised; zeros without mass)."""
        p = self._checked(probabilities)
        total = p.sum()
        return (p @ self._groups) / total if total > 0.0 else np.zeros(len(AGE_GROUPS))

    def raw_child_probability(self, probabilities: Sequence[float]) -> float:
        """Return the mass under 13 years (normalised), before calibration; NaN without mass."""
        p = self._checked(probabilities)
        total = p.sum()
        return float(np.dot(p, self._child) / total) if total > 0.0 else math.nan

    def child_probability(self, probabilities: Sequence[float]) -> float:
        """Return the calibrated probability of a child under 13."""
        return self.calibration.apply(self.raw_child_probability(probabilities))

    def _checked(self, probabilities: Sequence[float]) -> np.ndarray:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.shape != (self._groups.shape[0],):
            raise ValueError(f"{p.shape} age probabilities for {self._groups.shape[0]} bins")
        return p


def group_index(years: float) -> int:
    """Return the index in :data:`AGE_GROUPS` of the group holding ``years`` (negative ages count as 0)."""
    for index, (_, _, end) in enumerate(AGE_GROUPS):
        if years < end:
            return index
    return len(AGE_GROUPS) - 1


def most_likely_group(group_probabilities: Sequence[float]) -> str:
    """Return the name of the most likely group ("" when no group has mass)."""
    p = np.asarray(group_probabilities, dtype=np.float64)
    return AGE_GROUP_NAMES[int(np.argmax(p))] if p.size and p.max() > 0.0 else ""
