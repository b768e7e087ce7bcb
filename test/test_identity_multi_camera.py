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

"""Two cameras, one persons database: one person id in both, and the robot's one REP-155 persons list."""
from __future__ import annotations

import threading
import time

from face_perception_msgs.msg import FaceAttributesArray
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data, QoSProfile
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from conftest import wait_for
from face_perception.ros import ros_messages
from face_perception.ros.hri_aggregator_node import HriAggregatorNode
from face_perception.ros.node_main import stop_spinning
from face_perception.ros.perception_node import PerceptionNode
from identity_frames import frame_with, lfw_photos, needs_lfw

# Skipped, not an error, where hri_msgs is not built (as the other REP-155 tests).
IdsList = pytest.importorskip("hri_msgs.msg", reason="hri_msgs is not installed").IdsList
pytestmark = [needs_lfw, pytest.mark.data, pytest.mark.ros, pytest.mark.slow]
CAMERAS = ("front", "rear")


@pytest.fixture
def graph(model_parameters, tmp_path):
    context = rclpy.Context()
    rclpy.init(context=context)
    overrides = {**model_parameters, "hri.enabled": True, "identity.enabled": True,
                 "identity.database": str(tmp_path / "persons.db"), "publish_annotated_image": False}
    nodes = [PerceptionNode(context=context, namespace=camera,
                            parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
             for camera in CAMERAS]
    nodes.append(HriAggregatorNode(context=context, parameter_overrides=[
        Parameter("tracked_topics", value=[f"/{camera}/humans/faces/tracked" for camera in CAMERAS])]))
    probe = rclpy.create_node("probe", context=context)
    executor = SingleThreadedExecutor(context=context)
    for node in (*nodes, probe):
        executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield nodes, probe
    stop_spinning(executor, thread, [*nodes, probe])
    rclpy.shutdown(context=context)


def test_one_person_in_two_cameras_is_one_person_id_and_listed_once(graph):
    nodes, probe = graph
    photos = lfw_photos()
    images = {camera: probe.create_publisher(Image, f"/{camera}/camera/image_raw", qos_profile_sensor_data)
              for camera in CAMERAS}
    attributes: dict[str, list[FaceAttributesArray]] = {camera: [] for camera in CAMERAS}
    for camera in CAMERAS:
        probe.create_subscription(FaceAttributesArray, f"/{camera}/faces/attributes", attributes[camera].append, 10)
    lists: dict[str, list[IdsList]] = {"tracked": [], "known": []}
    for kind in lists:
        probe.create_subscription(IdsList, f"/humans/persons/{kind}", lists[kind].append, QoSProfile(depth=10))
    assert wait_for(lambda: all(pub.get_subscription_count() == 1 for pub in images.values()))
    # A in both cameras (different photos), C in the rear camera too.
    frames = {"front": frame_with([(photos["A"][0], 100, 120)]),
              "rear": frame_with([(photos["A"][1], 20, 120), (photos["C"][0], 380, 120)])}

    def persons(camera: str) -> set[str]:
        recent = attributes[camera][-2:]
        return {face.person_id for message in recent for face in message.faces}

    end, stamp = time.monotonic() + 40.0, 0
    while time.monotonic() < end and not (len(persons("front") - {""}) == 1 and len(persons("rear") - {""}) == 2):
        stamp += 1
        for camera, frame in frames.items():
            header = Header(stamp=rclpy.time.Time(seconds=stamp).to_msg(), frame_id=f"{camera}_camera")
            images[camera].publish(ros_messages.bgr_to_image_msg(frame, header.stamp, header.frame_id))
        time.sleep(0.1)
    front, rear = persons("front") - {""}, persons("rear") - {""}
    assert len(front) == 1 and len(rear) == 2, (front, rear)
    assert front < rear  # A has one person id in both cameras
    assert wait_for(lambda: lists["tracked"] and set(lists["tracked"][-1].ids) == rear
                    and len(lists["tracked"][-1].ids) == 2, 5.0), lists["tracked"][-3:]
    assert wait_for(lambda: lists["known"] and set(lists["known"][-1].ids) == rear, 5.0), (lists["known"][-1:], rear)
