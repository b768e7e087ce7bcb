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
Age as a distribution over age bins (UTKFace ages 0-116): bins, soft targets, estimates.

The age model is a classifier over ``AGE_BIN_EDGES`` whose expectation over the bin centres is
the estimate in years (the card carries the centres). Training targets are a Gaussian around the
true age integrated over each bin, whose width grows with age, as labelled ages of older people
are less precise (label-distribution learning).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import norm

# The node's bands (age_confidence, /faces/detections), so reports and the node agree.
from face_perception.classification.age import AGE_BANDS

# Bin edges in years; the bands (0-12, 13-17, 18-39, 40-59, 60+) are unions of bins.
AGE_BIN_EDGES = (0, 3, 6, 10, 13, 16, 18, 21, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 90, 131)
# Standard deviation of the target Gaussian: years at age 0, and added per year of age.
SIGMA_BASE_YEARS = 1.5
SIGMA_PER_YEAR = 0.05


def bin_labels(edges: Sequence[int] = AGE_BIN_EDGES) -> list[str]:
    """Return the bin names "0-2", "3-5", ..., "90+" (the last bin is open-ended)."""
    names = [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-2], edges[1:-1])]
    return names + [f"{edges[-2]}+"]


def bin_index(ages: np.ndarray, edges: Sequence[int] = AGE_BIN_EDGES) -> np.ndarray:
    """Return the bin of each age (years); ages beyond the last edge fall in the last bin."""
    ages = np.asarray(ages, dtype=np.float64)
    if (ages < 0).any():
        raise ValueError("ages must be >= 0")
    return np.clip(np.searchsorted(np.asarray(edges[1:-1]), ages, side="right"), 0, len(edges) - 2).astype(np.int64)


def bin_centers(ages: np.ndarray, edges: Sequence[int] = AGE_BIN_EDGES) -> list[float]:
    """Mean age of the given (training) ages in each bin; the bin's midpoint where it is empty."""
    ages = np.asarray(ages, dtype=np.float64)
    index = bin_index(ages, edges)
    centers = []
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        inside = ages[index == b]
        centers.append(float(inside.mean()) if len(inside) else (lo + hi - 1) / 2.0)
    return centers


def soft_targets(ages: np.ndarray, edges: Sequence[int] = AGE_BIN_EDGES) -> np.ndarray:
    """
    Return [N, bins] soft age targets.

    [N, bins] probabilities: a Gaussian around each age (sigma grows with age), integrated over
    the bins and renormalised over [0, last edge).
    """
    ages = np.asarray(ages, dtype=np.float64)[:, None]
    sigma = SIGMA_BASE_YEARS + SIGMA_PER_YEAR * ages
    # Integer ages stand for a year of life: centre each on the middle of that year.
    cdf = norm.cdf((np.asarray(edges, dtype=np.float64)[None, :] - (ages + 0.5)) / sigma)
    mass = np.diff(cdf, axis=1)
    return (mass / mass.sum(axis=1, keepdims=True)).astype(np.float32)


def expected_age(probabilities: np.ndarray, centers: Sequence[float]) -> np.ndarray:
    """Estimate in years: the expectation of the bin distribution."""
    return np.asarray(probabilities, dtype=np.float64) @ np.asarray(centers, dtype=np.float64)


def band_index(ages: np.ndarray) -> np.ndarray:
    """Band (AGE_BANDS) of each age in years: face_perception.classification.age.band_index for arrays."""
    ages = np.asarray(ages, dtype=np.float64)
    return np.searchsorted(np.array([end for _, _, end in AGE_BANDS[:-1]]), ages, side="right").astype(np.int64)
