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
The newest transform of every frame to its parent, and one frame's pose in another (no ROS).

A small stand-in for tf2's buffer where only the latest transforms matter (a robot frame
relative to a camera, for the engagement's robot gaze): no history, no interpolation.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from face_perception.geometry.head_pose import quaternion_to_matrix

# Chains longer than this are a loop in the published transforms, not a robot.
MAX_DEPTH = 64


class FrameTree:
    """child frame -> (parent frame, 4x4 pose of the child in the parent)."""

    def __init__(self) -> None:
        self._parents: dict[str, tuple[str, np.ndarray]] = {}

    def set_transform(self, parent: str, child: str, translation: Sequence[float],
                      quaternion_xyzw: Sequence[float]) -> None:
        matrix = np.eye(4)
        matrix[:3, :3] = quaternion_to_matrix(quaternion_xyzw)
        matrix[:3, 3] = np.asarray(translation, np.float64)
        self._parents[child.lstrip("/")] = (parent.lstrip("/"), matrix)

    def _to_root(self, frame: str) -> tuple[str, np.ndarray]:
        """Return (root frame, pose of ``frame`` in it)."""
        pose = np.eye(4)
        for _ in range(MAX_DEPTH):
            link = self._parents.get(frame)
            if link is None:
                return frame, pose
            frame, pose = link[0], link[1] @ pose
        raise LookupError(f"the transforms above '{frame}' form a loop")

    def pose_in(self, frame: str, reference: str) -> np.ndarray:
        """Return the 4x4 pose of ``frame`` in ``reference``; LookupError when they are not connected."""
        frame_root, frame_pose = self._to_root(frame.lstrip("/"))
        reference_root, reference_pose = self._to_root(reference.lstrip("/"))
        if frame_root != reference_root:
            raise LookupError(f"no transform connects '{frame}' and '{reference}'")
        return np.linalg.inv(reference_pose) @ frame_pose
