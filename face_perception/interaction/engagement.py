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
Who is engaging with the robot: a per-track engagement level from mutual gaze and distance.

The method follows the idea of Webb and Lemaignan (RO-MAN 2022, "visual social engagement"),
written here from its description (docs/engagement.md):

1. Each frame, a face with a 3-D position gets an instantaneous **score** in [0, 1]: the
   product of how directly the person looks at the robot (the angle between their gaze and
   the line to the robot), how directly the robot "looks" at the person (the angle between the
   robot's gaze and the line to the person), each 1 straight on and 0 at the edge of the field
   of view, and a distance weight, 1 up to half ``max_distance`` and 0 from ``max_distance``.
2. The scores form a **history** over the last ``window`` seconds; its time-weighted mean
   (the time before the track's first score counts as 0: nobody is engaged on arrival) is
   the engagement value.
3. Two thresholds on that mean, with a hysteresis margin, move the track between the four
   states: DISENGAGED -> ENGAGING (mean reaches ``engaging_threshold``) -> ENGAGED (reaches
   ``engaged_threshold``) -> DISENGAGING (falls below ``engaged_threshold - hysteresis``) ->
   DISENGAGED (below ``engaging_threshold - hysteresis``); ENGAGING falls back to DISENGAGED
   and DISENGAGING climbs back to ENGAGED across the same thresholds. One step per frame.

Everything is in the camera frame (REP-103 optical: z forward). The robot's gaze is the
camera's optical axis from the camera's centre unless a :class:`RobotGaze` says otherwise
(the node builds one from a TF reference frame). No ROS here.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import math
from typing import Iterable, Mapping, Sequence

import numpy as np

# hri_msgs/EngagementLevel's constants (the same numbers, so no mapping is needed).
UNKNOWN, DISENGAGED, ENGAGING, ENGAGED, DISENGAGING = 0, 1, 2, 3, 4
LEVEL_NAMES = {UNKNOWN: "unknown", DISENGAGED: "disengaged", ENGAGING: "engaging", ENGAGED: "engaged",
               DISENGAGING: "disengaging"}


@dataclass(frozen=True)
class EngagementParameters:
    """The method's tunables (the engagement.* parameters); checked on construction."""

    window_s: float = 2.0
    field_of_view_deg: float = 60.0
    max_distance_m: float = 4.0
    engaging_threshold: float = 0.25
    engaged_threshold: float = 0.5
    hysteresis: float = 0.05

    def __post_init__(self) -> None:
        if not self.window_s > 0.0 or not 0.0 < self.field_of_view_deg <= 360.0 or not self.max_distance_m > 0.0:
            raise ValueError("engagement: window, field_of_view and max_distance must be > 0")
        if not 0.0 < self.engaging_threshold < self.engaged_threshold <= 1.0:
            raise ValueError(f"engagement: engaging_threshold ({self.engaging_threshold}) must be below "
                             f"engaged_threshold ({self.engaged_threshold}), both in (0, 1]")
        if not 0.0 <= self.hysteresis < self.engaged_threshold - self.engaging_threshold:
            raise ValueError(f"engagement: hysteresis ({self.hysteresis}) must be below engaged_threshold - "
                             f"engaging_threshold ({self.engaged_threshold - self.engaging_threshold:g})")


@dataclass(frozen=True)
class RobotGaze:
    """Where the robot is and looks, in the camera frame (metres; unit direction)."""

    origin: np.ndarray
    direction: np.ndarray


# The camera itself: its centre, looking along its optical axis.
CAMERA_GAZE = RobotGaze(np.zeros(3), np.array([0.0, 0.0, 1.0]))


@dataclass(frozen=True)
class Engagement:
    """One track's engagement in one frame: its level, this frame's score (NaN if none) and the window mean."""

    level: int
    score: float
    value: float


def gaze_term(direction: Sequence[float], towards: Sequence[float], field_of_view_deg: float) -> float:
    """
    Return how directly ``direction`` points along ``towards``: 1 straight on, 0 at the field of view's edge.

    1 - (angle / half field of view)^2, clipped at 0: flat near the centre, where the gaze's
    own error (5-15 degrees) lies, and steeper towards the edge. (Plain floats: NumPy's call
    overhead on 3-vectors would be most of the per-face cost.)
    """
    ax, ay, az = _floats(direction)
    bx, by, bz = _floats(towards)
    norm = math.sqrt((ax * ax + ay * ay + az * az) * (bx * bx + by * by + bz * bz))
    if not norm > 0.0:
        return 0.0
    cosine = min(1.0, max(-1.0, (ax * bx + ay * by + az * bz) / norm))
    ratio = math.acos(cosine) / math.radians(field_of_view_deg / 2.0)
    return max(0.0, 1.0 - ratio * ratio)


def _floats(vector: Sequence[float]) -> Sequence[float]:
    # ndarray.tolist() is several times faster than iterating NumPy scalars.
    return vector.tolist() if isinstance(vector, np.ndarray) else vector


def distance_weight(distance_m: float, max_distance_m: float) -> float:
    """Return 1 up to half ``max_distance_m``, falling linearly to 0 at ``max_distance_m``."""
    return min(1.0, max(0.0, 2.0 * (1.0 - distance_m / max_distance_m)))


def engagement_score(position: Sequence[float], person_direction: Sequence[float], parameters: EngagementParameters,
                     robot: RobotGaze = CAMERA_GAZE) -> float:
    """Return the instantaneous score of a person at ``position`` looking along ``person_direction``."""
    ox, oy, oz = _floats(robot.origin)
    px, py, pz = _floats(position)
    to_person = (px - ox, py - oy, pz - oz)
    distance = math.sqrt(to_person[0] ** 2 + to_person[1] ** 2 + to_person[2] ** 2)
    weight = distance_weight(distance, parameters.max_distance_m)
    if weight == 0.0:
        return 0.0
    fov = parameters.field_of_view_deg
    towards_robot = (-to_person[0], -to_person[1], -to_person[2])
    return gaze_term(person_direction, towards_robot, fov) * gaze_term(robot.direction, to_person, fov) * weight


def looking_direction(pose, gaze=None) -> np.ndarray:
    """
    Return where a person looks, in the camera frame.

    The eye gaze (face_perception.geometry.gaze.Gaze) where the face mesh measured one, else
    the head's forward axis: the x axis of the head pose (HeadPose) face frame.
    """
    return gaze.direction if gaze is not None else pose.rotation[:, 0]


def next_level(level: int, value: float, parameters: EngagementParameters) -> int:
    """Return the state after ``level`` for the window mean ``value`` (one step at most)."""
    low, high, margin = parameters.engaging_threshold, parameters.engaged_threshold, parameters.hysteresis
    if level in (UNKNOWN, DISENGAGED):
        return ENGAGING if value >= low else DISENGAGED
    if level == ENGAGED:
        return DISENGAGING if value < high - margin else ENGAGED
    # ENGAGING and DISENGAGING: between the thresholds, each keeps its direction.
    if value >= high:
        return ENGAGED
    if value < low - margin:
        return DISENGAGED
    return level


class ScoreHistory:
    """
    One track's scores over the last window, and its level.

    Each score covers the time since the previous one (the first covers none), so the mean
    follows the clock, not the frame rate, and a gap of missed frames is filled by the score
    that ends it.
    """

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque()
        # Sum of score x span of every sample but the first (whose span lies before the window).
        self._area = 0.0
        self.level = UNKNOWN

    def add(self, time_s: float, score: float, parameters: EngagementParameters) -> Engagement:
        samples = self._samples
        if samples:
            time_s = max(time_s, samples[-1][0])  # a stamp going back (replayed bag): no negative spans
            self._area += score * (time_s - samples[-1][0])
        samples.append((time_s, score))
        start = time_s - parameters.window_s
        # Keep one sample at or before the window's start: it bounds the first span inside.
        while len(samples) >= 2 and samples[1][0] <= start:
            boundary = samples.popleft()
            self._area -= samples[0][1] * (samples[0][0] - boundary[0])
        value = self._area
        if len(samples) >= 2 and samples[0][0] < start:  # the first span is partly before the window
            value -= samples[1][1] * (start - samples[0][0])
        value = max(0.0, value / parameters.window_s)
        self.level = next_level(self.level, value, parameters)
        return Engagement(self.level, score, value)

    def mean(self, time_s: float, window_s: float) -> float:
        """Return the time-weighted mean score over (time_s - window_s, time_s]."""
        start = time_s - window_s
        total = 0.0
        previous = None
        for sample_time, score in self._samples:
            if previous is not None and sample_time > start:
                total += score * (sample_time - max(previous, start))
            previous = sample_time
        return total / window_s

    def current(self, time_s: float, window_s: float) -> Engagement:
        """Return the level without a new score (a frame where the face was missed)."""
        value = self.mean(time_s, window_s) if self._samples else math.nan
        return Engagement(self.level, math.nan, value)


class EngagementTracker:
    """
    Engagement per live track (not thread-safe: one thread calls update_frame).

    A track's history lives as long as the track: frames where it is missed (up to
    tracking.max_missed_frames) keep it, and a dropped track's history is forgotten, so a
    face that comes back under a new track starts again from DISENGAGED.
    """

    def __init__(self, parameters: EngagementParameters = EngagementParameters()) -> None:
        self.parameters = parameters
        self._histories: dict[str, ScoreHistory] = {}

    def set_parameters(self, parameters: EngagementParameters) -> None:
        """Apply new parameters from the next frame on; histories and levels are kept."""
        self.parameters = parameters

    def update_frame(self, faces: Iterable[tuple[str, Sequence[float] | None, Sequence[float] | None]],
                     live_track_ids: Sequence[str], time_s: float,
                     robot: RobotGaze = CAMERA_GAZE) -> dict[str, Engagement]:
        """
        Return live track id -> its engagement after this frame.

        ``faces``: (track id, position, the direction the person looks) of this frame's faces,
        in the camera frame; a face without a position or direction (None) adds no score.
        Live tracks without a face in this frame keep their level.
        """
        results: dict[str, Engagement] = {}
        for track_id, position, direction in faces:
            if position is None or direction is None or not np.all(np.isfinite(position)):
                continue
            history = self._histories.setdefault(track_id, ScoreHistory())
            score = engagement_score(np.asarray(position, np.float64), np.asarray(direction, np.float64),
                                     self.parameters, robot)
            results[track_id] = history.add(time_s, score, self.parameters)
        live = set(live_track_ids)
        for track_id in set(self._histories) - live:
            del self._histories[track_id]
        for track_id in live_track_ids:
            if track_id not in results:
                history = self._histories.get(track_id)
                results[track_id] = (history.current(time_s, self.parameters.window_s) if history is not None
                                     else Engagement(UNKNOWN, math.nan, math.nan))
        return results

    def levels(self) -> Mapping[str, int]:
        """Return track id -> its current level (tracks that had a score)."""
        return {track_id: history.level for track_id, history in self._histories.items()}
