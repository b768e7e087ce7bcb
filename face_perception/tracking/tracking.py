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
Frame-to-frame face tracking: stable ids, constant-velocity prediction, smoothed probabilities.

Association is greedy, best pair first: a track's predicted box and a detection may match if
their IoU reaches ``iou_threshold`` or, for fast or shrinking faces whose boxes no longer
overlap much, if their centres are within half a face width of each other. Few faces per
frame make greedy matching as good as Hungarian here, without a SciPy dependency.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import itertools
from typing import Mapping, Sequence

import numpy as np

from face_perception.detection.detection import box_iou
from face_perception.parameters import TrackingConfig

# Weight of the newest displacement in the velocity estimate (the rest is the old estimate).
_VELOCITY_SMOOTHING = 0.5
# A centre-distance match needs the centres within this fraction of the mean box width.
_CENTRE_DISTANCE_FRACTION = 0.5
# Boxes whose sides differ by more than this factor are never the same face.
_MAX_SIZE_RATIO = 2.0


@dataclass
class Track:
    """One face followed across frames."""

    track_id: str
    serial: int  # creation order; the number in track_id
    box: np.ndarray  # (x, y, w, h) of the last matched detection, source pixels
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # per frame
    missed: int = 0  # frames since the last match
    age: int = 1  # consecutive frames matched (msg track_age)
    hits: int = 1  # frames matched in total
    smoothed: dict[str, np.ndarray] = field(default_factory=dict)
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    def predicted_box(self) -> np.ndarray:
        """Where the face should be in the next frame (constant velocity since the last match)."""
        box = self.box + self.velocity * (self.missed + 1)
        box[2:] = np.maximum(box[2:], 1.0)
        return box


@dataclass(frozen=True)
class TrackedFace:
    """A detection after association: its track and the track's probabilities."""

    track_id: str
    serial: int  # creation order of the track (older tracks have smaller numbers)
    age: int
    smoothed: Mapping[str, np.ndarray]
    raw: Mapping[str, np.ndarray]


class FaceTracker:
    """Assigns track ids to detections and smooths per-track probability vectors."""

    def __init__(self, config: TrackingConfig, id_prefix: str = "face_") -> None:
        self.config = config
        self._id_prefix = id_prefix
        self._ids = itertools.count(1)  # never reset, so ids are not reused within a run
        self._tracks: list[Track] = []
        # The tracks the last update() gave up (missed too long), for identity's rejoin.
        self.dropped: tuple[Track, ...] = ()

    @property
    def tracks(self) -> tuple[Track, ...]:
        """Live tracks, including those missed in recent frames."""
        return tuple(self._tracks)

    def predicted_boxes(self) -> list[np.ndarray]:
        """Predicted boxes of all live tracks (where to look between full detections)."""
        return [track.predicted_box() for track in self._tracks]

    def update(
        self,
        boxes: Sequence[Sequence[float]],
        observations: Sequence[Mapping[str, np.ndarray]] | None = None,
    ) -> list[TrackedFace]:
        """
        Associate this frame's boxes with tracks; returns one TrackedFace per box, in order.

        ``observations[i]`` holds this frame's probability vectors for box ``i`` by name
        (e.g. ``{"gender": ..., "emotion": ...}``); they are smoothed per track.
        """
        if observations is not None and len(observations) != len(boxes):
            raise ValueError(f"{len(boxes)} boxes but {len(observations)} observations")
        detections = [np.asarray(box, dtype=np.float64) for box in boxes]
        assignment = self._associate(detections)
        matched_tracks = set(assignment.values())

        survivors = []
        dropped = []
        for index, track in enumerate(self._tracks):
            if index in matched_tracks:
                survivors.append(track)
                continue
            track.missed += 1
            track.age = 0
            if track.missed <= self.config.max_missed_frames:
                survivors.append(track)
            else:
                dropped.append(track)
        self.dropped = tuple(dropped)

        results = []
        new_tracks = []
        for det_index, box in enumerate(detections):
            observation = observations[det_index] if observations is not None else {}
            track_index = assignment.get(det_index)
            if track_index is None:
                serial = next(self._ids)
                track = Track(track_id=f"{self._id_prefix}{serial}", serial=serial, box=box)
                new_tracks.append(track)
            else:
                track = self._tracks[track_index]
                self._move(track, box)
            self._smooth(track, observation)
            results.append(TrackedFace(track.track_id, track.serial, track.age, dict(track.smoothed), dict(track.raw)))
        self._tracks = survivors + new_tracks
        return results

    def adopt(self, track_id: str, earlier: Track) -> None:
        """
        Let live track ``track_id`` continue the dropped track ``earlier``: its id, creation order and smoothing.

        For a face recognised as the person of a track lost shortly before: the smoothed
        outputs resume from the earlier track's, blended with this track's as one new frame.
        """
        track = next((t for t in self._tracks if t.track_id == track_id), None)
        if track is None:
            raise KeyError(f"no live track {track_id}")
        factor = self.config.smoothing
        for name, previous in earlier.smoothed.items():
            current = track.smoothed.get(name)
            if current is not None and current.shape == previous.shape:
                blended = factor * current + (1.0 - factor) * previous
                total = blended.sum()
                track.smoothed[name] = blended / total if total > 0 else blended
        track.track_id, track.serial = earlier.track_id, earlier.serial
        track.hits += earlier.hits

    def reset(self) -> None:
        """Forget all tracks (ids keep counting up)."""
        self._tracks = []

    def _associate(self, detections: list[np.ndarray]) -> dict[int, int]:
        """Match detection index -> track index, greedy on (IoU, then centre distance)."""
        candidates = []
        for track_index, track in enumerate(self._tracks):
            predicted = track.predicted_box()
            for det_index, box in enumerate(detections):
                ratio = max(box[2], predicted[2]) / max(min(box[2], predicted[2]), 1e-6)
                if ratio > _MAX_SIZE_RATIO:
                    continue
                iou = box_iou(predicted, box)
                distance = float(np.hypot(*(_centre(predicted) - _centre(box))))
                relative_distance = distance / (0.5 * (predicted[2] + box[2]))
                if iou >= self.config.iou_threshold or relative_distance <= _CENTRE_DISTANCE_FRACTION:
                    candidates.append((-iou, relative_distance, det_index, track_index))
        candidates.sort()
        assignment: dict[int, int] = {}
        used_tracks: set[int] = set()
        for _, _, det_index, track_index in candidates:
            if det_index in assignment or track_index in used_tracks:
                continue
            assignment[det_index] = track_index
            used_tracks.add(track_index)
        return assignment

    @staticmethod
    def _move(track: Track, box: np.ndarray) -> None:
        frames = track.missed + 1
        step = (box - track.box) / frames
        track.velocity = _VELOCITY_SMOOTHING * step + (1.0 - _VELOCITY_SMOOTHING) * track.velocity
        track.box = box
        track.missed = 0
        track.age += 1
        track.hits += 1

    def _smooth(self, track: Track, observation: Mapping[str, np.ndarray]) -> None:
        factor = self.config.smoothing
        for name, values in observation.items():
            values = np.asarray(values, dtype=np.float64)
            track.raw[name] = values
            previous = track.smoothed.get(name)
            if previous is None or previous.shape != values.shape:
                track.smoothed[name] = values.copy()
            else:
                blended = factor * values + (1.0 - factor) * previous
                total = blended.sum()
                track.smoothed[name] = blended / total if total > 0 else blended


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])
