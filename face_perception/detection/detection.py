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
What every face detector gives and the interface they share.

:class:`Detection` (a box, its confidence and maybe keypoints, in source pixels),
:class:`PreparedFrame` and :class:`FaceDetector`. The pipeline, the tracker's region search and
the background thread see only :class:`FaceDetector`; ``detection.backend`` picks the
implementation (:func:`face_perception.detection.detectors.create_detector`): the Haar cascade
(:mod:`face_perception.detection.haar`), BlazeFace (:mod:`face_perception.detection.blazeface`)
or YuNet (:mod:`face_perception.detection.yunet`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

Box = tuple[int, int, int, int]

# The six facial keypoints BlazeFace outputs, in its order. "right"/"left" are the person's
# own sides (their right eye appears on the image's left in a frontal view).
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
Keypoints = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Detection:
    """
    A face box in source image pixels (top-left x, y, width, height) and its confidence.

    ``keypoints``: the detector's measured facial keypoints (:data:`KEYPOINT_NAMES`, source
    pixels, float), or None when the detector gives none (Haar). A keypoint the detector does
    not measure is NaN (YuNet's ear tragions).
    """

    x: int
    y: int
    w: int
    h: int
    confidence: float
    level_weight: float
    keypoints: Keypoints | None = None

    @property
    def box(self) -> Box:
        return (self.x, self.y, self.w, self.h)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    intersection = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - intersection
    return intersection / union if union > 0 else 0.0


@dataclass(frozen=True)
class PreparedFrame:
    """The grey frame as the detector sees it: downscaled by ``scale`` and maybe equalised."""

    image: np.ndarray
    scale: float  # detector pixels per source pixel (<= 1)
    source_width: int
    source_height: int


class FaceDetector(Protocol):
    """Finds faces; boxes in source image pixels, confidence in [0, 1], best first."""

    # Faces narrower than this fraction of the frame's larger side have coarse keypoints,
    # worth measuring again in their box (0: every face's are as good as the detector gets).
    coarse_keypoints_below: float

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
