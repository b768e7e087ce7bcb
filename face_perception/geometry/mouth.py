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

"""How open a face's mouth is, from its face mesh: the cue HRI stacks use for who is speaking."""
from __future__ import annotations

import numpy as np

from face_perception.detection.landmarks import (
    LOWER_LIP_INNER,
    MOUTH_LEFT_CORNER,
    MOUTH_RIGHT_CORNER,
    UPPER_LIP_INNER,
)
from face_perception.geometry.mesh_geometry import eye_centres


def mouth_openness(points: np.ndarray) -> float:
    """
    Return the inner lips' distance over the face's size (0 = closed; about 0.3-0.6 wide open).

    The face's size is the larger of the eye distance and the distance from the eyes' midpoint
    to the mouth corners' midpoint (as the eyes_mouth framing's face scale), so a turned or
    nodding head keeps its scale. ``points``: the mesh's 468 points (x, y first), pixels.
    """
    points = np.asarray(points, np.float64)[:, :2]
    eyes = eye_centres(points)
    mouth = 0.5 * (points[MOUTH_RIGHT_CORNER] + points[MOUTH_LEFT_CORNER])
    size = max(float(np.linalg.norm(eyes[1] - eyes[0])), float(np.linalg.norm(mouth - eyes.mean(axis=0))))
    if not size > 0.0:
        return float("nan")
    return float(np.linalg.norm(points[LOWER_LIP_INNER] - points[UPPER_LIP_INNER])) / size
