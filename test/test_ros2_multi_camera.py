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
A two-camera robot from one real `ros2 launch` command and a cameras file.

A two-camera robot from one real `ros2 launch` command and a cameras file: one perception
node per camera in its namespace, one shared parameter file plus per-camera overrides, and
with hri.enabled one /humans/faces/tracked list holding both cameras' faces.
"""
from __future__ import annotations

import threading
import time

from face_perception_msgs.msg import FaceAttributesArray
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
import yaml

from face_perception.ros.node_main import stop_spinning
from ros2_tools import LaunchedGraph, NO_TOOLS, node_list, PARAM_WAIT, ros2, SHARED_ROS2

try:
    from hri_msgs.msg import IdsList
except ImportError:
    IdsList = None

CAMERAS = ("front", "rear")

if not SHARED_ROS2.is_dir():
    pytest.skip(NO_TOOLS, allow_module_level=True)
pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_camera_launch(environment, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cameras")
    hri = {"hri.enabled": True} if IdsList is not None else {}
    (folder / "cameras.yaml").write_text(yaml.safe_dump({"cameras": [
        {"name": "front", "image_topic": "image_raw", "parameters": dict(hri)},
        {"name": "rear", "image_topic": "/rear_camera/image_raw", "parameters": {**hri, "max_faces": 4}},
    ]}))
    graph = LaunchedGraph(environment, folder / "launch.log",
                          (f"cameras_file:={folder / 'cameras.yaml'}", "image_source:=demo"))
    yield graph
    graph.stop()


def test_one_launch_command_starts_a_node_per_camera_with_its_own_topics(environment, two_camera_launch):
    context = rclpy.Context()
    rclpy.init(context=context)
    listener = rclpy.create_node("multi_camera_listener", context=context)
    received: dict[str, list] = {"front": [], "rear": [], "root": [], "tracked": []}
    for key, topic in (("front", "/front/faces/attributes"), ("rear", "/rear/faces/attributes"),
                       ("root", "/faces/attributes")):
        listener.create_subscription(FaceAttributesArray, topic, received[key].append, 10)
    if IdsList is not None:
        listener.create_subscription(IdsList, "/humans/faces/tracked", received["tracked"].append, 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(listener)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()

    def both_cameras_merged() -> bool:
        return any({i.split("_")[0] for i in m.ids} == set(CAMERAS) for m in received["tracked"])

    def ready() -> bool:
        faces = all(any(m.faces for m in received[cam]) for cam in CAMERAS)
        return faces and (IdsList is None or both_cameras_merged())

    try:
        deadline = time.monotonic() + 150.0  # two nodes loading the shipped models on a busy machine
        while not ready() and time.monotonic() < deadline and two_camera_launch.process.poll() is None:
            time.sleep(0.2)
        assert ready(), two_camera_launch.log()[-3000:]
        for cam in CAMERAS:  # each camera's demo source has its camera's frame
            assert {m.header.frame_id for m in received[cam]} == {f"{cam}_camera_optical_frame"}
        assert received["root"] == []  # nothing on the single-camera names
    finally:
        stop_spinning(executor, spinner, [listener])
        rclpy.shutdown(context=context)

    expected = {"/front/face_perception", "/front/image_source", "/rear/face_perception", "/rear/image_source"}
    if IdsList is not None:
        expected.add("/hri_aggregator")
    nodes = node_list(environment, expected)
    assert expected <= set(nodes), nodes
    # One shared parameter file, and the rear camera's own override on top of it.
    rear = ros2(environment, "param", "get", *PARAM_WAIT, "/rear/face_perception", "max_faces").stdout
    front = ros2(environment, "param", "get", *PARAM_WAIT, "/front/face_perception", "max_faces").stdout
    assert "Integer value is: 4" in rear and "Integer value is: 10" in front, rear + front
    topic = ros2(environment, "param", "get", *PARAM_WAIT, "/rear/face_perception", "image_topic").stdout
    assert "/rear_camera/image_raw" in topic, topic


def test_the_two_camera_graph_stops_cleanly(two_camera_launch):
    assert two_camera_launch.stop() == 0, two_camera_launch.log()[-3000:]
    log = two_camera_launch.log()
    assert "Traceback" not in log and "process has died" not in log, log[-3000:]
