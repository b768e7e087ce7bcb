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
Helpers of the tests that run the perception node in a real rclpy graph.

conftest.py's ``ros_graph`` fixture builds on :class:`RosGraph`; test files import
:class:`Probe` and :func:`image_message` from here. This module imports rclpy, so only
the tests that need a ROS graph load it.
"""
from __future__ import annotations

import threading

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from face_perception_msgs.msg import FaceAttributesArray
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from conftest import wait_for
from face_perception.ros import ros_messages
from face_perception.ros.node_main import stop_spinning
from face_perception.ros.perception_node import PerceptionNode


class Probe:
    """A node that feeds the perception node and records everything it publishes."""

    def __init__(self, context, image_topic: str = "/camera/image_raw") -> None:
        self.node = rclpy.create_node("probe", context=context)
        self.image_pub = self.node.create_publisher(Image, image_topic, qos_profile_sensor_data)
        self.compressed_pub = self.node.create_publisher(
            CompressedImage, image_topic + "/compressed", qos_profile_sensor_data
        )
        self.attributes: list[FaceAttributesArray] = []
        self.annotated: list[Image] = []
        self.detections: list[Detection2DArray] = []
        self.diagnostics: list[DiagnosticArray] = []
        self.node.create_subscription(FaceAttributesArray, "/faces/attributes", self.attributes.append, 10)
        self.node.create_subscription(Image, "/faces/annotated_image", self.annotated.append, qos_profile_sensor_data)
        self.node.create_subscription(Detection2DArray, "/faces/detections", self.detections.append, 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        self._counter = 0

    def header(self, frame_id: str = "head_camera_optical_frame") -> Header:
        self._counter += 1
        return Header(stamp=rclpy.time.Time(seconds=1000 + self._counter, nanoseconds=123).to_msg(), frame_id=frame_id)

    def attributes_for(self, header: Header) -> FaceAttributesArray | None:
        for message in self.attributes:
            if message.header.stamp == header.stamp:
                return message
        return None


class RosGraph:
    """Perception nodes (small test models) with a probe each, spun in a thread; :meth:`close` ends them."""

    def __init__(self, model_parameters: dict[str, str]) -> None:
        self._model_parameters = model_parameters
        self._context = rclpy.Context()
        rclpy.init(context=self._context)
        self._nodes: list = []

    def start(self, extra: dict | None = None) -> tuple[PerceptionNode, Probe]:
        """Start a node with the test models and ``extra`` parameters; return it and its probe."""
        overrides = {**self._model_parameters, **(extra or {})}
        node = PerceptionNode(
            context=self._context,
            parameter_overrides=[Parameter(name, value=value) for name, value in overrides.items()],
        )
        probe = Probe(self._context, node.get_parameter("image_topic").value)
        # Single-threaded, like the demo: rclpy's MultiThreadedExecutor delayed callbacks by
        # hundreds of ms on 2 cores (the node does its work on its own thread anyway).
        executor = SingleThreadedExecutor(context=self._context)
        executor.add_node(node)
        executor.add_node(probe.node)
        thread = threading.Thread(target=executor.spin, daemon=True)
        thread.start()
        self._nodes.append((node, probe, executor, thread))
        # Discovery: wait until the node and the probe see each other on every topic.
        assert wait_for(
            lambda: probe.compressed_pub.get_subscription_count() + probe.image_pub.get_subscription_count() > 0
            and node.count_subscribers("/faces/attributes") > 0
            and node.count_subscribers("/faces/annotated_image") > 0
        )
        return node, probe

    def close(self) -> None:
        for node, probe, executor, thread in self._nodes:
            stop_spinning(executor, thread, [node, probe.node])
        rclpy.shutdown(context=self._context)


def image_message(bgr: np.ndarray, header: Header, encoding: str = "bgr8") -> Image:
    message = ros_messages.bgr_to_image_msg(bgr, header.stamp, header.frame_id)
    if encoding == "rgb8":
        message.data = np.ascontiguousarray(bgr[:, :, ::-1]).tobytes()
        message.encoding = "rgb8"
    elif encoding == "mono16":
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
        message.data = gray.tobytes()
        message.encoding, message.step = "mono16", bgr.shape[1] * 2
    return message
