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
The face detector interface and the factory that builds the configured backend.

The pipeline, the tracker's region search and the background thread see only
:class:`FaceDetector`; ``detection.backend`` picks the implementation.
"""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from face_perception.detection.detection import Detection, HaarFaceDetector, PreparedFrame
from face_perception.parameters import ConfigError, DETECTION_BACKENDS, DetectionConfig


class FaceDetector(Protocol):
    """Finds faces; boxes in source image pixels, confidence in [0, 1], best first."""

    def prepare(self, image: np.ndarray, gray: np.ndarray | None = None) -> PreparedFrame:
        """
        Return the frame as this detector reads it.

        Return the frame as this detector reads it (once per frame, shared by full and region
        detection). ``image``: BGR or grey uint8; ``gray``: its grey version if known.
        """

    def detect_prepared(self, frame: PreparedFrame,
                        search_boxes: Sequence[Sequence[float]] | None = None) -> list[Detection]:
        """
        Detect faces in the whole frame or only around tracked faces.

        Faces in the whole frame, or (``search_boxes``: tracked faces' source pixel
        boxes) only in the regions around them, for faces of about their size.
        """

    def detect(self, image: np.ndarray, search_boxes: Sequence[Sequence[float]] | None = None) -> list[Detection]:
        """``detect_prepared(prepare(image), search_boxes)``."""


def create_detector(config: DetectionConfig) -> FaceDetector:
    """Return a new detector of ``config.backend``; each caller (thread) needs its own."""
    if config.backend == "haar":
        return HaarFaceDetector(config)
    if config.backend == "blazeface":
        # Imported here: the Haar-only node never loads LiteRT for detection.
        from face_perception.detection.blazeface import BlazeFaceDetector

        return BlazeFaceDetector(config.blazeface_model, config.blazeface_min_confidence, config.region_scale,
                                 config.blazeface_tiles)
    raise ConfigError(f"parameter 'detection.backend' = {config.backend!r} is not one of {DETECTION_BACKENDS}")
