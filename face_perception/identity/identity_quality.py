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
Is a face good enough to describe who it is? Size, head turn and sharpness of an identity chip.

A small, turned or blurred face gives a descriptor far from the person's others and, worse,
near other people's: such faces are neither stored nor matched (the track waits for a better
frame). Measured on the face's keypoints (source pixels) and its aligned chip, so it costs
well under a millisecond on the frame thread.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from face_perception.detection.detection import Keypoints


@dataclass(frozen=True)
class FaceQuality:
    """What makes a descriptor trustworthy, measured on one face."""

    eye_distance: float  # between the eye centres, source pixels (the face's resolution)
    turn: float  # nose tip's offset from the eyes' mid-point along the eye line, in eye distances (0 = frontal)
    sharpness: float  # variance of the Laplacian of the chip's central grey region


def face_quality(keypoints: Keypoints | np.ndarray, chip: np.ndarray) -> FaceQuality:
    """Measure a face from its keypoints (detection.KEYPOINT_NAMES order) and its aligned RGB chip."""
    points = np.asarray(keypoints, np.float64)
    right_eye, left_eye, nose = points[0], points[1], points[2]
    axis = left_eye - right_eye
    eye_distance = float(np.hypot(*axis))
    if eye_distance <= 1e-6:
        return FaceQuality(0.0, float("inf"), 0.0)
    turn = float((nose - (right_eye + left_eye) / 2.0) @ axis) / eye_distance ** 2
    size = chip.shape[0]
    centre = cv2.cvtColor(chip[size // 4: 3 * size // 4, size // 4: 3 * size // 4], cv2.COLOR_RGB2GRAY)
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    return FaceQuality(eye_distance, turn, sharpness)


def good_enough(quality: FaceQuality, min_eye_distance: float, max_turn: float, min_sharpness: float) -> bool:
    """Return whether a face may be stored or matched under the identity.* quality limits."""
    return (quality.eye_distance >= min_eye_distance and abs(quality.turn) <= max_turn
            and quality.sharpness >= min_sharpness)
