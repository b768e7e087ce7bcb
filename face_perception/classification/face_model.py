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
One shape for every face model: framed faces in, one named output per face out.

A :class:`FaceModel` is built from its card (:mod:`face_perception.classification.classification`),
takes the batch its :attr:`~FaceModel.input_spec` asks for and returns one probability vector
per face. The pipeline smooths those vectors per track under the model's
:attr:`~FaceModel.name` (the card's task), then the model reads a vector into its output: a
:class:`ClassDistribution` (emotion, gender) or an :class:`ExpectedValue` (age in years, with
the mass of each coarse band).

No model runtime here: the ROS layer reads the outputs without loading LiteRT.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
from typing import Protocol, Union

import numpy as np

from face_perception.classification.preprocessing import InputSpec

# What a ClassDistribution reads as when its most likely class is below its min_confidence.
UNKNOWN_LABEL = "unknown"


@dataclass(frozen=True)
class ClassDistribution:
    """Probabilities of a model's classes, in its card's label order."""

    labels: tuple[str, ...]
    probabilities: tuple[float, ...]
    # The answer reads as UNKNOWN_LABEL below this (gender: classification.gender_min_confidence).
    min_confidence: float = 0.0

    @property
    def confidence(self) -> float:
        """Return the probability of the most likely class (also when the answer reads as unknown)."""
        return max(self.probabilities)

    @property
    def label(self) -> str:
        """
        Return the most likely class, or UNKNOWN_LABEL when its probability is below ``min_confidence``.

        Also UNKNOWN_LABEL without any probability (a face too small to read, never seen larger).
        """
        best = int(np.argmax(self.probabilities))
        known = self.probabilities[best] >= self.min_confidence and self.probabilities[best] > 0.0
        return self.labels[best] if known else UNKNOWN_LABEL

    def as_dict(self) -> dict[str, float]:
        """Return label -> probability, in the card's order."""
        return dict(zip(self.labels, self.probabilities))


@dataclass(frozen=True)
class ExpectedValue:
    """
    The expectation of a distribution over bins (age: years) and the probability of each coarse band.

    Age also reads as groups a robot can act on (face_perception.classification.age_groups):
    FairFace's nine groups and the calibrated probability of a child under 13, who is a child
    at ``child_threshold`` and above.
    """

    value: float  # NaN when the distribution has no mass
    band_labels: tuple[str, ...]
    band_probabilities: tuple[float, ...]
    group_labels: tuple[str, ...] = ()
    group_probabilities: tuple[float, ...] = ()
    child_probability: float = math.nan
    child_threshold: float = 0.5

    @property
    def group(self) -> str:
        """Return the most likely age group's name; empty without groups or mass."""
        if not self.group_probabilities or max(self.group_probabilities) <= 0.0:
            return ""
        return self.group_labels[int(np.argmax(self.group_probabilities))]

    @property
    def is_child(self) -> bool:
        """Return whether the child probability reaches the threshold (False when it is NaN)."""
        return bool(self.child_probability >= self.child_threshold)

    @property
    def confidence(self) -> float:
        """Return the most likely band's probability: how sure the model is of the coarse answer."""
        return max(self.band_probabilities, default=0.0)

    def bands(self) -> dict[str, float]:
        """Return band -> probability, in band order."""
        return dict(zip(self.band_labels, self.band_probabilities))


FaceOutput = Union[ClassDistribution, ExpectedValue]


class FaceModel(Protocol):
    """A face attribute model, as the pipeline runs every one of them."""

    @property
    def name(self) -> str:
        """Return the name of the model's output: its card's task (``emotion``, ``gender``, ``age``)."""

    @property
    def labels(self) -> tuple[str, ...]:
        """Return the card's labels: what each of a probability vector's K entries stands for (class or bin)."""

    @property
    def input_spec(self) -> InputSpec:
        """Return the faces the model takes (size, colour, normalisation, framing), from its card."""

    @property
    def model_path(self) -> Path:
        """Return the model file in use."""

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Return one probability vector per face, [N, K], for a batch [N, H, W, C] cut by ``input_spec``."""

    def read(self, probabilities: np.ndarray) -> FaceOutput:
        """Return the output one face's probability vector (smoothed over its track, or raw) stands for."""
