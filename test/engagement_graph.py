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
Test helper: a perception node fed rendered scenario shots, recording what it says about persons.

Each shot goes out as a real sensor_msgs/Image with its sensor_msgs/CameraInfo (the scenario's
intrinsics) and the scenario time as its stamp; the next one goes only after the node has
answered the frame, so the timeline is the scenario's whatever the machine's speed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import threading
import time

from face_perception_msgs.msg import FaceAttributesArray
from hri_msgs.msg import EngagementLevel, IdsList
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data, QoSProfile
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from face_perception.bringup import visitor_scenario as vs
from face_perception.ros import ros_messages
from face_perception.ros.node_main import stop_spinning
from face_perception.ros.perception_node import PerceptionNode

STATE_QOS = QoSProfile(depth=10)
START_S = 2000  # stamp of the scenario's time 0
ZONES = ("personal", "social", "public")


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def scenario_camera_info(header: Header) -> CameraInfo:
    k = vs.K
    return CameraInfo(header=header, width=vs.WIDTH, height=vs.HEIGHT, distortion_model="plumb_bob",
                      d=[0.0] * 5, k=k.ravel().tolist(), r=np.eye(3).ravel().tolist(),
                      p=np.hstack([k, np.zeros((3, 1))]).ravel().tolist())


@dataclass
class Frame:
    """What the node published for one shot."""

    shot: vs.Shot
    header: Header
    attributes: FaceAttributesArray | None = None
    persons: list[str] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=dict)  # person id -> engagement_status level
    zones: dict[str, list[str]] = field(default_factory=dict)


class EngagementGraph:
    """A PerceptionNode (hri on, BlazeFace, the given models) and a probe, spun on a thread."""

    def __init__(self, parameters: dict, camera_info: bool = True) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = PerceptionNode(context=self.context, parameter_overrides=[
            Parameter(name, value=value) for name, value in parameters.items()])
        self.probe = rclpy.create_node("engagement_probe", context=self.context)
        self.camera_info = camera_info
        self.image_pub = self.probe.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
        self.info_pub = self.probe.create_publisher(CameraInfo, "/camera/camera_info", STATE_QOS)
        self.attributes: dict[tuple[int, int], FaceAttributesArray] = {}
        self.tracked: dict[tuple[int, int], list[str]] = {}
        self.statuses: dict[tuple[str, tuple[int, int]], EngagementLevel] = {}
        self.zones: dict[tuple[str, tuple[int, int]], list[str]] = {}
        self.probe.create_subscription(FaceAttributesArray, "/faces/attributes",
                                       lambda m: self.attributes.__setitem__(_key(m.header), m), 10)
        self.probe.create_subscription(IdsList, "/humans/persons/tracked",
                                       lambda m: self.tracked.__setitem__(_key(m.header), list(m.ids)), STATE_QOS)
        for zone in ZONES:
            self.probe.create_subscription(IdsList, f"/humans/persons/in_{zone}_space",
                                           lambda m, z=zone: self.zones.__setitem__((z, _key(m.header)), list(m.ids)),
                                           STATE_QOS)
        self._subscribed: set[str] = set()
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.probe)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        assert wait_for(lambda: self.image_pub.get_subscription_count() > 0
                        and self.node.count_subscribers("/faces/attributes") > 0
                        and self.node.count_subscribers("/humans/persons/tracked") > 0
                        and self.node.count_subscribers("/humans/persons/in_public_space") > 0)

    def _follow(self, person_id: str) -> None:
        """Subscribe to a person's engagement_status (as a consumer does once /tracked names it)."""
        if person_id in self._subscribed:
            return
        self._subscribed.add(person_id)
        self.probe.create_subscription(
            EngagementLevel, f"/humans/persons/{person_id}/engagement_status",
            lambda m, p=person_id: self.statuses.__setitem__((p, _key(m.header)), m), STATE_QOS)
        wait_for(lambda: self.probe.count_publishers(f"/humans/persons/{person_id}/engagement_status") > 0, 5.0)

    def play(self, shots: list[vs.Shot], images: list[np.ndarray]) -> list[Frame]:
        """Send every shot, each after the node answered the previous one; return what it published."""
        frames = []
        for shot, image in zip(shots, images):
            seconds = START_S + shot.time_s
            header = Header(stamp=rclpy.time.Time(seconds=int(seconds),
                                                  nanoseconds=int(round((seconds % 1) * 1e9))).to_msg(),
                            frame_id="camera_optical_frame")
            key = _key(header)
            if self.camera_info:
                self.info_pub.publish(scenario_camera_info(header))
            self.image_pub.publish(ros_messages.bgr_to_image_msg(image, header.stamp, header.frame_id))
            assert wait_for(lambda: key in self.attributes and key in self.tracked, 30.0), f"no answer at {shot}"
            persons = self.tracked[key]
            for person_id in persons:
                self._follow(person_id)
            wait_for(lambda: all((p, key) in self.statuses for p in persons)
                     and all((z, key) in self.zones for z in ZONES), 3.0)
            frames.append(Frame(shot, header, self.attributes[key], persons,
                                {p: self.statuses[(p, key)].level for p in persons if (p, key) in self.statuses},
                                {z: self.zones.get((z, key), []) for z in ZONES}))
            for p in persons:
                status = self.statuses.get((p, key))
                assert status is None or status.header == header, "engagement_status must carry the image's header"
        return frames

    def stop(self) -> None:
        stop_spinning(self.executor, self.thread, [self.node, self.probe])
        rclpy.shutdown(context=self.context)


def _key(header: Header) -> tuple[int, int]:
    return header.stamp.sec, header.stamp.nanosec


def collapsed(levels: list[int]) -> list[int]:
    """Return the levels without repeats: the order of the states."""
    out: list[int] = []
    for level in levels:
        if not out or out[-1] != level:
            out.append(level)
    return out


def change_times(times: list[float], levels: list[int]) -> dict[int, float]:
    """Return level -> the first time it was entered."""
    first: dict[int, float] = {}
    previous = None
    for time_s, level in zip(times, levels):
        if level != previous:
            first.setdefault(level, time_s)
            previous = level
    return first
