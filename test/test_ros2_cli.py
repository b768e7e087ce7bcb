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
The package driven by the real ROS 2 tools, as a user does.

The package driven by the real ROS 2 tools, as a user does: `ros2 launch`, `ros2 topic`,
`ros2 param`, each a subprocess with a timeout.

The tools come from ../shared/ros2 (ros2_tools.py; installed by `scripts/setup/setup_env.sh
--dev`). Without that folder the tests skip,
saying so; with it but without the tools installed they fail. Every verb runs with
--no-daemon and the daemon is stopped at the end, so no process outlives the run.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import yaml

from conftest import wait_for
from ros2_tools import DISCOVERY, LaunchedGraph, NO_TOOLS, PARAM_WAIT, ROS2, ros2, ros2_until, SHARED_ROS2

IMAGE_TOPIC = "/cli_test/image"  # not the default, to check the launch argument's remapping
NODE = "/face_perception"

if not SHARED_ROS2.is_dir():
    pytest.skip(NO_TOOLS, allow_module_level=True)
pytestmark = [pytest.mark.ros, pytest.mark.slow]


@pytest.fixture(scope="module")
def launched(environment, tmp_path_factory: pytest.TempPathFactory):
    graph = LaunchedGraph(environment, tmp_path_factory.mktemp("launch") / "launch.log",
                          ("image_source:=demo", f"image_topic:={IMAGE_TOPIC}"))
    yield graph
    graph.stop()


@pytest.fixture(scope="module")
def first_message(environment, launched) -> dict:
    """One /faces/attributes message read by `ros2 topic echo --once` (waits for start-up)."""
    try:
        # With the type given, echo subscribes at once and waits for the node to come up.
        completed = ros2(environment, "topic", "echo", "--once", "--no-daemon", "/faces/attributes",
                         "face_perception_msgs/msg/FaceAttributesArray", timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no /faces/attributes message within 120 s; launch log:\n{launched.log()[-3000:]}")
    assert completed.returncode == 0, completed.stderr + launched.log()[-3000:]
    return yaml.safe_load(completed.stdout.split("\n---")[0])


def test_topic_echo_once_shows_a_face_with_the_camera_header(first_message):
    header = first_message["header"]
    assert header["frame_id"] == "camera_optical_frame"  # image_source's frame_id, copied through
    assert header["stamp"]["sec"] > 0
    faces = first_message["faces"]
    assert len(faces) == 1, faces  # the demo sequence has one face per frame
    face = faces[0]
    assert face["track_id"].startswith("face_")
    assert face["bbox"]["width"] >= 40 and face["bbox"]["height"] >= 40
    assert face["emotion"] in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert abs(sum(face["emotion_probabilities"]) - 1.0) < 1e-3


def test_the_image_topic_launch_argument_moves_the_camera_topic(environment, first_message):
    info = ros2_until(environment, "topic", "info", *DISCOVERY, IMAGE_TOPIC,
                      done=lambda c: "Publisher count: 1" in c.stdout and "Subscription count: 1" in c.stdout)
    assert info.returncode == 0, info.stderr
    assert "sensor_msgs/msg/Image" in info.stdout
    assert "Publisher count: 1" in info.stdout and "Subscription count: 1" in info.stdout, info.stdout
    topics = ros2_until(environment, "topic", "list", *DISCOVERY,
                        done=lambda c: "/faces/attributes" in c.stdout.split()).stdout.split()
    assert "/camera/image_raw" not in topics and "/faces/attributes" in topics, topics


def test_param_set_accepts_a_valid_value(environment, first_message):
    completed = ros2(environment, "param", "set", *PARAM_WAIT, NODE, "detection.min_neighbors", "4")
    assert "Set parameter successful" in completed.stdout, completed.stdout + completed.stderr
    got = ros2(environment, "param", "get", *PARAM_WAIT, NODE, "detection.min_neighbors")
    assert "Integer value is: 4" in got.stdout, got.stdout


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        # Refused by the descriptor's range (rclpy, before the node's callback).
        ("detection.min_neighbors", "99", "out of range"),
        # Refused by the node's own validation (0 = off is allowed, 100 is not).
        ("detection.max_width", "100", "is outside 160..8192 or 0"),
        ("image_topic", "/elsewhere", "read at start-up only"),
    ],
)
def test_param_set_refuses_an_invalid_value_with_the_reason_and_logs_it(environment, launched, first_message,
                                                                        name, value, reason):
    completed = ros2(environment, "param", "set", *PARAM_WAIT, NODE, name, value)
    output = completed.stdout + completed.stderr  # the tool prints a refusal on stderr
    assert "Setting parameter failed" in output and reason in output, output
    # The node's own log says so too (ros2 launch prints it).
    logged = f"refused parameter change ['{name}']"
    wait_for(lambda: logged in launched.log(), timeout=5.0)
    refusals = [line for line in launched.log().splitlines() if logged in line]
    assert refusals and reason in refusals[-1], launched.log()[-2000:]


def test_param_describe_shows_the_range(environment, first_message):
    completed = ros2(environment, "param", "describe", *PARAM_WAIT, NODE, "detection.scale_factor")
    assert completed.returncode == 0, completed.stderr
    assert "Min value: 1.01" in completed.stdout and "Max value: 2.0" in completed.stdout, completed.stdout
    assert "pyramid step" in completed.stdout


def test_ctrl_c_stops_the_launched_graph_cleanly(launched, first_message):
    assert launched.stop() == 0, launched.log()[-3000:]
    log = launched.log()
    assert "Traceback" not in log and "process has died" not in log, log[-3000:]


def test_launch_with_a_missing_params_file_exits_nonzero_with_one_clear_line(environment):
    completed = ros2(environment, "launch", "face_perception", "perception.launch.py",
                     "params_file:=/nope/params.yaml", timeout=60)
    assert completed.returncode != 0
    output = completed.stdout + completed.stderr
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "params_file: '/nope/params.yaml' does not exist" in errors[0], output
    assert "Traceback" not in output and "process started" not in output, output


def test_launch_keeps_the_users_dds_profile_and_says_so(launched, first_message):
    # conftest.py exported config/fastdds_local_only.xml: the user's choice wins.
    transport = [line for line in launched.log().splitlines() if "DDS transport:" in line]
    assert len(transport) == 1 and "yours, FASTRTPS_DEFAULT_PROFILES_FILE=" in transport[0], launched.log()[-3000:]
    assert "fastdds_local_only.xml" in transport[0]


def test_launch_without_a_dds_choice_gives_the_nodes_the_large_images_profile(environment, tmp_path):
    import psutil

    env = {k: v for k, v in environment.items() if k not in ("FASTRTPS_DEFAULT_PROFILES_FILE", "RMW_IMPLEMENTATION")}
    log_path = tmp_path / "launch.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(ROS2), "launch", "face_perception", "perception.launch.py",
                                    "image_topic:=/cli_test/none"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        node = None
        while time.monotonic() < deadline and node is None:
            time.sleep(0.5)
            node = next((child for child in psutil.Process(process.pid).children(recursive=True)
                         if "face_perception.ros.perception_node" in " ".join(child.cmdline())
                         or child.name() == "perception_node"), None)
        assert node is not None, log_path.read_text()[-3000:]
        profile = node.environ().get("FASTRTPS_DEFAULT_PROFILES_FILE", "")
        assert profile.endswith("share/face_perception/config/fastdds_large_images.xml"), profile
        transport = [line for line in log_path.read_text().splitlines() if "DDS transport:" in line]
        assert len(transport) == 1 and "fastdds_large_images.xml" in transport[0] and \
            "dds_large_images:=false" in transport[0], transport
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
