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
Which faces get a face mesh this frame, and each track's mesh between runs.

The mesh runs only where it pays (``face_mesh.*``): on faces at least ``min_face_size`` wide,
at most every ``interval`` frames per track. In between, the track's last mesh follows its box
(moved with the box's centre, scaled with its width). The runs are spread over the frames: a
frame refreshes faces / interval tracks' meshes on average, the stalest first (a new track
always gets one), so three faces at interval 2 cost two meshes, then one, not three, then none.
A track's mouth openness is smoothed over the frames the mesh measured it.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Callable, Iterable, Sequence

import numpy as np

from face_perception.detection.detection import Box, Detection
from face_perception.detection.landmarks import FaceLandmarker, FaceLandmarks
from face_perception.geometry.mouth import mouth_openness
from face_perception.parameters import FaceMeshConfig


@dataclass(frozen=True)
class TrackMesh:
    """A track's mesh in this frame, whether it was measured now, and its smoothed mouth openness."""

    landmarks: FaceLandmarks
    measured: bool
    mouth_open: float


@dataclass
class _State:
    landmarks: FaceLandmarks
    box: Box
    frame: int  # index of the frame the mesh last ran in
    mouth_open: float


class MeshTracks:
    """The face meshes of a stream's tracks (not thread-safe: one per pipeline)."""

    def __init__(self, config: FaceMeshConfig, smoothing: float,
                 landmarker_factory: Callable[[bool], FaceLandmarker]) -> None:
        self.config = config
        self.smoothing = smoothing  # EMA weight of the newest mouth measurement
        self._factory = landmarker_factory
        self._landmarker: FaceLandmarker | None = None
        self._landmarker_irises: bool | None = None
        self._states: dict[str, _State] = {}
        self._credit = 0.0  # mesh refreshes this stream may still spend (see update)

    def update(self, image: np.ndarray, faces: Sequence[tuple[str, Detection]], frame: int,
               live_track_ids: Iterable[str]) -> dict[str, TrackMesh]:
        """Return track id -> mesh for this frame's faces that have one; forget dropped tracks."""
        results: dict[str, TrackMesh] = {}
        due = [track_id for track_id, _ in faces
               if track_id in self._states and frame - self._states[track_id].frame >= self.config.interval]
        # The stalest first (sorted is stable: ties keep the faces' order).
        due.sort(key=lambda track_id: self._states[track_id].frame)
        # On average len(faces) / interval refreshes per frame: 3 faces at interval 2 take 2, 1, 2, 1...
        self._credit = min(self._credit + len(faces) / self.config.interval,
                           float(math.ceil(len(faces) / self.config.interval)))
        refreshed = set(due[:int(self._credit)])
        self._credit -= len(refreshed)
        for track_id, detection in faces:
            run = track_id not in self._states or track_id in refreshed
            mesh = self._one(image, track_id, detection, frame, run)
            if mesh is not None:
                results[track_id] = mesh
        live = set(live_track_ids)
        for track_id in set(self._states) - live:
            del self._states[track_id]
        return results

    def _one(self, image: np.ndarray, track_id: str, detection: Detection, frame: int, run: bool
             ) -> TrackMesh | None:
        state = self._states.get(track_id)
        if detection.w < self.config.min_face_size:
            self._states.pop(track_id, None)  # too small: the detector's keypoints, no stale mesh
            return None
        carried = None if state is None else _follow_box(state.landmarks, state.box, detection.box)
        if state is not None and not run:
            state.landmarks, state.box = carried, detection.box
            return TrackMesh(carried, False, state.mouth_open)
        landmarks = self._model().measure(image, detection, carried)
        if landmarks is None:
            self._states.pop(track_id, None)  # no face in the crop: no landmarks rather than wrong ones
            return None
        openness = mouth_openness(landmarks.points)
        if state is not None and math.isfinite(state.mouth_open) and math.isfinite(openness):
            openness = self.smoothing * openness + (1.0 - self.smoothing) * state.mouth_open
        self._states[track_id] = _State(landmarks, detection.box, frame, openness)
        return TrackMesh(landmarks, True, openness)

    def _model(self) -> FaceLandmarker:
        # Loaded on first use: a node whose outputs never read a mesh never loads the models.
        if self._landmarker is None or self._landmarker_irises != self.config.irises:
            self._landmarker = self._factory(self.config.irises)
            self._landmarker_irises = self.config.irises
        return self._landmarker


def _follow_box(landmarks: FaceLandmarks, old: Box, new: Box) -> FaceLandmarks:
    """Move ``landmarks`` with their face's box from ``old`` to ``new`` (centre shift, width ratio)."""
    old_centre = np.array([old[0] + old[2] / 2.0, old[1] + old[3] / 2.0])
    new_centre = np.array([new[0] + new[2] / 2.0, new[1] + new[3] / 2.0])
    moved = landmarks.translated(*(new_centre - old_centre))
    return moved.scaled_about(new_centre, new[2] / old[2]) if old[2] > 0 else moved
