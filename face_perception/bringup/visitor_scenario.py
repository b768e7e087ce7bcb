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
Scripted visitors for the engagement checks: rendered heads (head_render) at known poses over time.

A scenario is a list of :class:`Shot` (time, and the head(s) in the frame: pose in the camera
frame and where the eyes look). :func:`render_shot` draws one as a camera image, and
:func:`true_score` gives the engagement score the true poses imply, so a check can compare
the states measured on the images with those the method gives on the truth.

The camera: 640x480, 60 degrees horizontal field of view (image_source's nominal intrinsics).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import math

import numpy as np

from face_perception.bringup import head_render
from face_perception.geometry import head_pose as hp
from face_perception.interaction.engagement import engagement_score, EngagementParameters

WIDTH, HEIGHT = 640, 480
FOCAL_PX = (WIDTH / 2) / math.tan(math.radians(30.0))
K = np.array([[FOCAL_PX, 0.0, WIDTH / 2], [0.0, FOCAL_PX, HEIGHT / 2], [0.0, 0.0, 1.0]])
RATE_HZ = 10.0
# The eyes' height in the image: a little below the optical axis, as for a camera above a face.
EYE_HEIGHT_M = 0.05
# Where the visitor stops to talk: near enough for the rendered head's turned views to be detected.
TALK_M = 0.9


@dataclass(frozen=True)
class Head:
    """One rendered person: head yaw (degrees, to the person's left, 0 = facing the camera), position, eyes."""

    yaw_deg: float
    position: tuple[float, float, float]  # eye midpoint in the camera frame, metres
    eyes_yaw_deg: float = 0.0  # the eyes turned within the head

    def rotation(self) -> np.ndarray:
        # Turned towards the camera first (so yaw 0 looks into the lens from wherever it stands).
        x, _, z = self.position
        return hp.face_rotation(self.yaw_deg - math.degrees(math.atan2(x, z)))

    def looking(self) -> np.ndarray:
        """Return the true gaze direction in the camera frame."""
        return self.rotation() @ head_render.gaze_direction_in_face(self.eyes_yaw_deg, 0.0)


@dataclass(frozen=True)
class Shot:
    time_s: float
    phase: str
    heads: tuple[Head, ...]


def _lerp(a: float, b: float, fraction: float) -> float:
    return a + (b - a) * min(1.0, max(0.0, fraction))


def visitor(rate_hz: float = RATE_HZ) -> list[Shot]:
    """
    Return the visitor: approaches from 4 m looking at the robot, talks, looks away, leaves.

    0-3.5 s approach (4.0 -> 0.9 m, on the optical axis, looking into the lens), 3.5-6 s talk
    (0.9 m, small head movements), 6-8.5 s look away (head turned 45 degrees, the detector loses
    the rendered head beyond that, and the eyes 30 more), 8.5-11 s leave (walks off to the side and back, head still
    turned, out of the frame at the end).
    """
    shots = []
    for index in range(int(round(11.0 * rate_hz))):
        t = index / rate_hz
        if t < 3.5:
            head = Head(0.0, (0.0, EYE_HEIGHT_M, _lerp(4.0, TALK_M, t / 3.5)))
            phase = "approach"
        elif t < 6.0:
            head = Head(6.0 * math.sin(2.0 * t), (0.0, EYE_HEIGHT_M, TALK_M))
            phase = "talk"
        elif t < 8.5:
            head = Head(45.0, (0.0, EYE_HEIGHT_M, TALK_M), 30.0)
            phase = "look away"
        else:
            fraction = (t - 8.5) / 2.5
            head = Head(45.0, (_lerp(0.0, 1.6, fraction), EYE_HEIGHT_M, _lerp(TALK_M, 2.0, fraction)), 30.0)
            phase = "leave"
        shots.append(Shot(t, phase, (head,)))
    return shots


def passer_by(rate_hz: float = RATE_HZ) -> list[Shot]:
    """Return a person crossing the frame at 0.8 m in 4 s, head turned 35 degrees and eyes 20 more (where they walk)."""
    count = int(round(4.0 * rate_hz))
    return [Shot(i / rate_hz, "cross", (Head(-35.0, (_lerp(-0.3, 0.3, i / count), EYE_HEIGHT_M, 0.8), -20.0),))
            for i in range(count)]


def two_persons(rate_hz: float = RATE_HZ) -> list[Shot]:
    """Return two persons at 0.8 m for 4 s: on the left one looks at the robot, on the right one looks away."""
    heads = (Head(0.0, (-0.22, EYE_HEIGHT_M, 0.8)), Head(35.0, (0.22, EYE_HEIGHT_M, 0.8), 30.0))
    return [Shot(i / rate_hz, "two", heads) for i in range(int(round(4.0 * rate_hz)))]


def lost_and_found(rate_hz: float = RATE_HZ, short_gap_s: float = 0.3, long_gap_s: float = 2.0) -> list[Shot]:
    """
    Return a person looking at the robot at 0.9 m, hidden twice: briefly, then for long.

    3 s looking, ``short_gap_s`` without a face, 1 s looking, ``long_gap_s`` without a face,
    2 s looking. (A shot without heads is an empty frame.)
    """
    looking = (Head(0.0, (0.0, EYE_HEIGHT_M, TALK_M)),)
    plan = [(3.0, "look", looking), (short_gap_s, "short gap", ()), (1.0, "look", looking),
            (long_gap_s, "long gap", ()), (2.0, "back", looking)]
    shots, t = [], 0.0
    for duration, phase, heads in plan:
        for _ in range(int(round(duration * rate_hz))):
            shots.append(Shot(round(t, 6), phase, heads))
            t += 1.0 / rate_hz
    return shots


@lru_cache(maxsize=8)
def _head_model(eyes_yaw_deg: float) -> head_render.TexturedHead:
    return head_render.head_with_eyes(eyes_yaw_deg, 0.0)


def render_shot(shot: Shot) -> np.ndarray:
    """Return the shot as a BGR camera image (later heads drawn over earlier ones)."""
    image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    image[:] = head_render.BACKGROUND_BGR
    for head in shot.heads:
        drawn = head_render.render_head(head.rotation(), np.asarray(head.position), K, WIDTH, HEIGHT,
                                        head=_head_model(head.eyes_yaw_deg))
        mask = np.any(drawn != np.asarray(head_render.BACKGROUND_BGR, np.uint8), axis=2)
        image[mask] = drawn[mask]
    return image


def true_score(head: Head, parameters: EngagementParameters = EngagementParameters()) -> float:
    """Return the engagement score of a head's true pose and gaze (the camera as the robot)."""
    return engagement_score(np.asarray(head.position), head.looking(), parameters)
