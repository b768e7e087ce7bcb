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
Dense facial landmarks of one face and the interface of the models that measure them.

A detector's six keypoints (:data:`face_perception.detection.detection.KEYPOINT_NAMES`) are one
answer to "where are this face's parts"; a landmark model is a second, denser one. The
pipeline sees only :class:`FaceLandmarker`; :class:`face_perception.detection.face_mesh.FaceMeshLandmarker`
(MediaPipe's 468-point face mesh plus its iris model) implements it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from face_perception.detection.detection import Detection

# Face mesh indices this package reads by name (MediaPipe's canonical mesh numbering).
# "right"/"left" are the person's own sides.
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_INNER, LEFT_EYE_OUTER = 362, 263
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
MOUTH_RIGHT_CORNER, MOUTH_LEFT_CORNER = 61, 291
NOSE_TIP = 1
MESH_POINTS = 468

# iBUG 300-W's 68 points (dlib's and REP-155's indices 0..67) from mesh indices: one mesh point,
# or the mean of two where the 68-point scheme's point lies between them. Checked one by one
# against the astronaut photo (test/data/astronaut_landmarks.json and test/test_face_mesh.py).
IBUG68_FROM_MESH: tuple[tuple[int, ...], ...] = (
    # jaw, from the person's right ear (0) over the chin (8) to the left ear (16)
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,),
    (400,), (379,), (365,), (397, 288), (361,), (323,), (454,), (356,),
    # right brow, outside to inside (17-21); left brow, inside to outside (22-26)
    (70,), (63,), (105,), (66,), (107,), (336,), (296,), (334,), (293,), (300,),
    # nose bridge from the sellion down (27-30, 30 the tip), nostrils right to left (31-35)
    (168, 6), (197, 195), (5,), (4,), (75,), (97,), (2,), (326,), (305,),
    # right eye (36 outer corner, 37-38 upper lid, 39 inner corner, 40-41 lower lid)
    (33,), (160,), (158,), (133,), (153,), (144,),
    # left eye (42 inner corner, 43-44 upper lid, 45 outer corner, 46-47 lower lid)
    (362,), (385,), (387,), (263,), (373,), (380,),
    # outer lips: right corner (48), upper lip to the left corner (54), lower lip back (55-59)
    (61,), (39,), (37,), (0,), (267,), (269,), (291,), (321,), (314,), (17,), (84,), (91,),
    # inner lips: right corner (60), upper (61-63), left corner (64), lower (65-67)
    (78,), (82,), (13,), (312,), (308,), (317,), (14,), (87,),
)
IBUG68_POINTS = 68


@dataclass(frozen=True)
class EyeLandmarks:
    """One eye from the iris model, source pixels: the iris centre and its 4 rim points, the eye contour."""

    iris: np.ndarray  # 5x2: centre, then four points on the iris rim
    contour: np.ndarray  # 71x2: eyelids and brow, the model's own order

    @property
    def iris_centre(self) -> np.ndarray:
        return self.iris[0]

    @property
    def iris_radius(self) -> float:
        """Mean distance of the rim points from the centre (pixels)."""
        return float(np.mean(np.linalg.norm(self.iris[1:] - self.iris[0], axis=1)))


@dataclass(frozen=True)
class FaceLandmarks:
    """
    The face mesh of one face in source image pixels.

    ``points``: 468x3, x and y in source pixels, z (depth, toward the camera negative) in the
    same pixel units, relative to the face's centre. ``score``: the model's face-presence
    probability. ``right_eye``/``left_eye``: the iris model's answer (None where it did not run).
    """

    points: np.ndarray
    score: float
    right_eye: EyeLandmarks | None = None
    left_eye: EyeLandmarks | None = None

    def eye_distance(self) -> float:
        """Distance between the two eyes' centres (the midpoints of their corners), pixels."""
        right = 0.5 * (self.points[RIGHT_EYE_OUTER, :2] + self.points[RIGHT_EYE_INNER, :2])
        left = 0.5 * (self.points[LEFT_EYE_OUTER, :2] + self.points[LEFT_EYE_INNER, :2])
        return float(np.linalg.norm(left - right))

    def translated(self, dx: float, dy: float) -> "FaceLandmarks":
        """Return the same landmarks moved by (dx, dy) pixels: a track followed between mesh runs."""
        shift = np.array([dx, dy], np.float64)
        points = self.points.copy()
        points[:, :2] += shift
        eyes = [None if eye is None else EyeLandmarks(eye.iris + shift, eye.contour + shift)
                for eye in (self.right_eye, self.left_eye)]
        return FaceLandmarks(points, self.score, eyes[0], eyes[1])

    def scaled_about(self, centre: np.ndarray, factor: float) -> "FaceLandmarks":
        """Return the same landmarks scaled by ``factor`` about ``centre`` (a face coming nearer)."""
        centre = np.asarray(centre, np.float64)
        points = self.points.copy()
        points[:, :2] = centre + (points[:, :2] - centre) * factor
        points[:, 2] *= factor
        eyes = [None if eye is None else EyeLandmarks(centre + (eye.iris - centre) * factor,
                                                      centre + (eye.contour - centre) * factor)
                for eye in (self.right_eye, self.left_eye)]
        return FaceLandmarks(points, self.score, eyes[0], eyes[1])


def ibug68(points: np.ndarray) -> np.ndarray:
    """Return the 68 iBUG 300-W points (68x2, source pixels) of a face mesh's 468x3 (or x2) points."""
    points = np.asarray(points, np.float64)[:, :2]
    return np.array([points[list(indices)].mean(axis=0) for indices in IBUG68_FROM_MESH])


class FaceLandmarker(Protocol):
    """Measures a face's dense landmarks inside its detection."""

    def measure(self, image: np.ndarray, detection: Detection, previous: FaceLandmarks | None = None
                ) -> FaceLandmarks | None:
        """
        Return the face's landmarks, or None where the model finds no face there.

        ``image``: the BGR (or grey) uint8 frame; ``previous``: the track's last landmarks,
        which place the model's crop better than the box does.
        """
