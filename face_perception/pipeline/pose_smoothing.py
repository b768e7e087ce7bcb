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
Each track's head pose and eye gaze, smoothed over time: the pipeline's per-track pose state.

One :class:`PoseSmoothing` per image stream (the pipeline owns it): every frame it turns the
faces' meshes or keypoints into head poses and gazes with the camera's intrinsics, smooths
them per track (One-Euro, ``head_pose.*`` parameters) and forgets the tracks that are no
longer live, so a track's state goes with its track.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from face_perception.detection.detection import Keypoints
from face_perception.detection.landmarks import FaceLandmarks
from face_perception.geometry.gaze import Gaze, GazeTracker
from face_perception.geometry.head_pose import CameraModel, HeadPose, HeadPoseTracker, OneEuroParameters
from face_perception.geometry.mesh_geometry import best_pose_estimate
from face_perception.parameters import HeadPoseConfig


@dataclass(frozen=True)
class SmoothedPoses:
    """
    One frame's smoothed poses and gazes.

    ``head_poses``: every live track that has a pose (a track missed in this frame, or whose
    face gave no plausible pose, keeps its last); ``gazes``: this frame's faces whose irises
    fit; ``last_gazes``: each track of ``head_poses`` that has had a gaze, its latest.
    """

    head_poses: Mapping[str, HeadPose] = field(default_factory=dict)
    gazes: Mapping[str, Gaze] = field(default_factory=dict)
    last_gazes: Mapping[str, Gaze] = field(default_factory=dict)


def one_euro(config: HeadPoseConfig) -> OneEuroParameters:
    """Return the One-Euro filter settings of the head_pose.* parameters (the gaze uses the same)."""
    return OneEuroParameters(min_cutoff=config.min_cutoff, beta=config.beta, d_cutoff=config.d_cutoff)


class PoseSmoothing:
    """Smoothed head poses and gazes per track (not thread-safe; one per image stream)."""

    def __init__(self, config: HeadPoseConfig) -> None:
        self._head_poses = HeadPoseTracker(one_euro(config))
        self._gazes = GazeTracker(one_euro(config))

    def configure(self, config: HeadPoseConfig) -> None:
        """Apply new smoothing settings (ros2 param set) to every track, keeping their state."""
        self._head_poses.set_parameters(one_euro(config))
        self._gazes.set_parameters(one_euro(config))

    def update(self, faces: Iterable[tuple[str, FaceLandmarks | None, Keypoints | None]],
               live_track_ids: Sequence[str], camera: CameraModel, time_s: float) -> SmoothedPoses:
        """
        Add one frame and return its smoothed poses and gazes.

        ``faces``: (track id, its face mesh or None, its keypoints or None) of the faces seen;
        the pose comes from the mesh where it fits, else from the keypoints. Tracks not in
        ``live_track_ids`` are forgotten.
        """
        faces = list(faces)
        poses = self._head_poses.update_frame(((track_id, best_pose_estimate(landmarks, keypoints))
                                               for track_id, landmarks, keypoints in faces),
                                              live_track_ids, camera, time_s)
        gazes = self._gazes.update_frame(((track_id, landmarks) for track_id, landmarks, _ in faces), poses,
                                         live_track_ids, camera, time_s)
        # A missed track keeps its last gaze, as its last pose.
        last_gazes = {track_id: gaze for track_id in poses for gaze in [self._gazes.last(track_id)]
                      if gaze is not None}
        return SmoothedPoses(poses, gazes, last_gazes)

    def has_state(self, track_id: str) -> bool:
        """Return whether a track has smoothing state (a pose or a gaze) kept for it."""
        return self._head_poses.last(track_id) is not None or self._gazes.last(track_id) is not None
