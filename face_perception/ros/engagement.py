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
The node's engagement: the pure tracker (face_perception.interaction.engagement) fed each frame.

Each face seen in the frame gives a score from its 3-D position (the head pose, so a
camera_info is needed) and the direction it looks: the eye gaze where the face mesh measured
one, the head's forward axis otherwise. Without a usable camera_info every level is UNKNOWN
and the reason is logged once. With ``engagement.reference_frame`` the robot's position and
gaze (the frame's x axis) come from /tf and /tf_static, expressed in the image's frame_id;
until that transform is known the levels are UNKNOWN too (logged once per reason).
"""
from __future__ import annotations

from typing import Mapping, Sequence, TYPE_CHECKING

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile

from face_perception.geometry.frame_tree import FrameTree
from face_perception.interaction.engagement import (
    CAMERA_GAZE,
    Engagement,
    EngagementParameters,
    EngagementTracker,
    looking_direction,
    RobotGaze,
    UNKNOWN,
)
from face_perception.interaction.proxemics import ProxemicDistances
from face_perception.parameters import EngagementConfig

if TYPE_CHECKING:
    from face_perception.geometry.gaze import Gaze
    from face_perception.geometry.head_pose import HeadPose
    from face_perception.pipeline.pipeline import FrameResult

TF_QOS = QoSProfile(depth=100)
TF_STATIC_QOS = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def method_parameters(config: EngagementConfig) -> EngagementParameters:
    return EngagementParameters(window_s=config.window, field_of_view_deg=config.field_of_view,
                                max_distance_m=config.max_distance, engaging_threshold=config.engaging_threshold,
                                engaged_threshold=config.engaged_threshold, hysteresis=config.hysteresis)


def proxemic_distances(config: EngagementConfig) -> ProxemicDistances:
    return ProxemicDistances(config.personal_distance, config.social_distance, config.public_distance)


class NodeEngagement:
    """Per-frame engagement of a node's tracks (one thread calls update; /tf arrives on the executor)."""

    def __init__(self, node: Node, config: EngagementConfig) -> None:
        self._node = node
        self.tracker = EngagementTracker(method_parameters(config))
        self.distances = proxemic_distances(config)
        self.reference_frame = config.reference_frame.strip("/")
        self._logged: set[str] = set()
        self._frames = FrameTree()
        if self.reference_frame:
            try:
                from tf2_msgs.msg import TFMessage
            except ImportError as error:
                raise ValueError(f"parameter 'engagement.reference_frame' = {config.reference_frame!r} needs "
                                 f"tf2_msgs to read /tf ({error})") from error
            node.create_subscription(TFMessage, "/tf", self._on_tf, TF_QOS)
            node.create_subscription(TFMessage, "/tf_static", self._on_tf, TF_STATIC_QOS)

    def configure(self, config: EngagementConfig) -> None:
        """Apply changed run-time parameters (the histories are kept)."""
        self.tracker.set_parameters(method_parameters(config))
        self.distances = proxemic_distances(config)

    def _on_tf(self, message) -> None:
        for transform in message.transforms:
            t, q = transform.transform.translation, transform.transform.rotation
            self._frames.set_transform(transform.header.frame_id, transform.child_frame_id,
                                       (t.x, t.y, t.z), (q.x, q.y, q.z, q.w))

    def robot_gaze(self, camera_frame: str) -> RobotGaze | None:
        """Return the robot's position and gaze in the camera frame, or None (logged once) when unknown."""
        if not self.reference_frame:
            return CAMERA_GAZE
        try:
            pose = self._frames.pose_in(self.reference_frame, camera_frame)
        except LookupError as error:
            self._log_once(f"engagement is UNKNOWN: {error} (engagement.reference_frame) yet")
            return None
        return RobotGaze(pose[:3, 3], pose[:3, 0])

    def update(self, result: "FrameResult", header, poses: Mapping[str, "HeadPose"],
               gazes: Mapping[str, "Gaze"], camera_problem: str) -> tuple[dict[str, Engagement], RobotGaze | None]:
        """
        Return (live track id -> engagement, the robot's gaze or None) after this frame.

        ``camera_problem``: why there are no 3-D positions ("" when the camera_info is usable):
        then every level is UNKNOWN, said once per reason.
        """
        robot = None
        if camera_problem:
            self._log_once(f"engagement is UNKNOWN: {camera_problem} (the distance needs each face's 3-D position)")
        else:
            robot = self.robot_gaze(header.frame_id)
        if robot is None:
            unknown = Engagement(UNKNOWN, float("nan"), float("nan"))
            return {track_id: unknown for track_id in result.live_track_ids}, None
        faces = [(face.track_id, pose.translation, looking_direction(pose, gazes.get(face.track_id)))
                 for face in result.faces for pose in [poses.get(face.track_id)] if pose is not None]
        stamp_s = header.stamp.sec + header.stamp.nanosec * 1e-9
        return self.tracker.update_frame(faces, result.live_track_ids, stamp_s, robot), robot

    def _log_once(self, line: str) -> None:
        if line not in self._logged:
            self._logged.add(line)
            self._node.get_logger().warning(line)


def person_positions(persons: Mapping[str, object], poses: Mapping[str, "HeadPose"]) -> dict[str, Sequence[float]]:
    """Return person id -> the position of its track's face (persons: track id -> PersonMatch)."""
    return {match.person_id: poses[track_id].translation for track_id, match in persons.items() if track_id in poses}
