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
The REP-155 face and gaze TF frames of each tracked face, broadcast on /tf.

``face_<id>`` has the camera image's ``frame_id`` as parent (the optical frame the pose was
estimated in); ``gaze_<id>`` has ``face_<id>`` as parent, at its origin, in the optical
convention (z along the eyes' gaze where the irises gave one, else out of the face; x toward
the person's right, y down; see face_perception.geometry.gaze). Both carry the image's stamp.

On the pip path there is no tf2_ros: /tf is then a plain topic of tf2_msgs/TFMessage, and
this is its publisher, with the QoS tf2_ros' TransformBroadcaster uses (reliable, volatile,
depth 100), which every TF listener matches. This module imports tf2_msgs; the node
imports it only when face frames are on.
"""
from __future__ import annotations

from typing import Optional, Sequence

from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from face_perception.geometry.head_pose import GAZE_IN_FACE, HeadPose, matrix_to_quaternion

TF_TOPIC = "/tf"
_TF_QOS = QoSProfile(depth=100)
_GAZE_ROTATION = Quaternion(**dict(zip("xyzw", (float(v) for v in matrix_to_quaternion(GAZE_IN_FACE)))))


def face_frame_name(face_id: str) -> str:
    return f"face_{face_id}"


def gaze_frame_name(face_id: str) -> str:
    return f"gaze_{face_id}"


def face_transforms(header: Header, face_id: str, pose: HeadPose,
                    gaze_in_face: Optional[np.ndarray] = None) -> list[TransformStamped]:
    """
    Return camera -> face_<id> (the pose) and face_<id> -> gaze_<id>.

    ``gaze_in_face``: the gaze frame's axes in the face frame (gaze.gaze_rotation_in_face);
    None: the head's own direction (a fixed rotation).
    """
    x, y, z = (float(v) for v in pose.translation)
    qx, qy, qz, qw = (float(v) for v in pose.quaternion())
    face = TransformStamped(
        header=Header(stamp=header.stamp, frame_id=header.frame_id),
        child_frame_id=face_frame_name(face_id),
        transform=Transform(translation=Vector3(x=x, y=y, z=z), rotation=Quaternion(x=qx, y=qy, z=qz, w=qw)),
    )
    gaze = TransformStamped(
        header=Header(stamp=header.stamp, frame_id=face_frame_name(face_id)),
        child_frame_id=gaze_frame_name(face_id),
        transform=Transform(translation=Vector3(), rotation=_GAZE_ROTATION if gaze_in_face is None else Quaternion(
            **dict(zip("xyzw", (float(v) for v in matrix_to_quaternion(gaze_in_face)))))),
    )
    return [face, gaze]


class FaceFramesPublisher:
    """Broadcasts the face and gaze frames of the faces given to :meth:`publish`."""

    def __init__(self, node: Node) -> None:
        self._publisher = node.create_publisher(TFMessage, TF_TOPIC, _TF_QOS)

    def publish(self, header: Header, poses: Sequence[tuple[str, HeadPose, Optional[np.ndarray]]]) -> None:
        """One TFMessage with both frames of every (face id, pose, gaze axes in the face or None); nothing if none."""
        transforms = [t for face_id, pose, gaze in poses if np.all(np.isfinite(pose.translation))
                      for t in face_transforms(header, face_id, pose, gaze)]
        if transforms:
            self._publisher.publish(TFMessage(transforms=transforms))
