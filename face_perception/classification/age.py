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
Age from an age model's output: a probability distribution over age bins.

The estimate in years is the distribution's expectation over the bin centres (from the
card). Its confidence is the probability mass of the most likely of five coarse age bands
(:data:`AGE_BANDS`), each bin counted in the band that holds its centre: a robot mostly
needs to tell a child from a teenager, an adult or an older person, and that mass says how
sure the model is of that answer.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# (name, first year, first year of the next band); the last band is open-ended.
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("0-12", 0.0, 13.0),
    ("13-17", 13.0, 18.0),
    ("18-39", 18.0, 40.0),
    ("40-59", 40.0, 60.0),
    ("60+", 60.0, math.inf),
)


def band_index(years: float) -> int:
    """Index in :data:`AGE_BANDS` of the band holding ``years`` (negative ages count as 0)."""
    for index, (_, _, end) in enumerate(AGE_BANDS):
        if years < end:
            return index
    return len(AGE_BANDS) - 1


def expected_age(probabilities: Sequence[float], centers: Sequence[float]) -> float:
    """Return the expectation in years of a bin distribution (normalised here, so it need not sum to 1)."""
    p = np.asarray(probabilities, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    if p.shape != c.shape or p.ndim != 1:
        raise ValueError(f"{p.shape[0] if p.ndim == 1 else p.shape} age probabilities for {len(c)} bin centres")
    total = p.sum()
    if not total > 0.0:
        return math.nan
    return float(np.dot(p, c) / total)


def band_probabilities(probabilities: Sequence[float], centers: Sequence[float]) -> np.ndarray:
    """Probability of every band in :data:`AGE_BANDS` (bins assigned by their centres)."""
    p = np.asarray(probabilities, dtype=np.float64)
    bands = np.zeros(len(AGE_BANDS))
    for probability, center in zip(p, centers):
        bands[band_index(float(center))] += probability
    total = bands.sum()
    return bands / total if total > 0.0 else bands


def age_confidence(probabilities: Sequence[float], centers: Sequence[float]) -> float:
    """Return the most likely age band's probability mass: in [0.2, 1] when the bins cover all five bands."""
    return float(band_probabilities(probabilities, centers).max())
