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
One `ros2 launch` with hri.enabled and the demo camera: a person's engagement read with `ros2 topic echo`.

The real ROS 2 tools from ../shared/ros2 (scripts/setup_env.sh --dev), as test_ros2_cli.py
uses them; skipped without that folder.
"""
from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED_ROS2 = ROOT.parent / "shared" / "ros2"
VENV_BIN = Path(sys.executable).parent
ROS2 = VENV_BIN / "ros2"

if not SHARED_ROS2.is_dir():
    pytest.skip(f"{SHARED_ROS2} is absent: the real ros2 tools are not available", allow_module_level=True)


def echo_once(env: dict, topic: str, message_type: str, timeout: float) -> dict:
    """Return the first message on ``topic`` as `ros2 topic echo --once` prints it."""
    completed = subprocess.run([str(ROS2), "topic", "echo", "--once", "--no-daemon", topic, message_type],
                               env=env, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr
    return yaml.safe_load(completed.stdout.split("\n---")[0])


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory):
    assert ROS2.is_file(), f"{ROS2} is missing although {SHARED_ROS2} exists: run scripts/setup_env.sh --dev"
    folder = tmp_path_factory.mktemp("engagement_launch")
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({"/**/face_perception": {"ros__parameters": {"hri": {"enabled": True}}}}))
    # conftest.py already set this run's ROS_DOMAIN_ID and the local-only Fast DDS profile.
    env = dict(os.environ, AMENT_PREFIX_PATH=sys.prefix, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               ROS_LOG_DIR=str(folder), PYTHONUNBUFFERED="1")
    log_path = folder / "launch.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(ROS2), "launch", "face_perception", "perception.launch.py",
                                    "image_source:=demo", f"params_file:={params}"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield env, log_path
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    subprocess.run([str(ROS2), "daemon", "stop"], env=env, capture_output=True, timeout=30)


def test_ros2_topic_echo_reads_a_persons_engagement_status(launched):
    env, log_path = launched
    status = None
    for _ in range(3):  # a person lives as long as its track: ask again if the demo's face was re-tracked
        try:
            tracked = echo_once(env, "/humans/persons/tracked", "hri_msgs/msg/IdsList", timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no /humans/persons/tracked within 120 s; launch log:\n{log_path.read_text()[-3000:]}")
        if not tracked["ids"]:
            continue
        person = tracked["ids"][0]
        assert person.startswith("anon_"), tracked  # identity is off: one anonymous person per face
        try:
            status = echo_once(env, f"/humans/persons/{person}/engagement_status",
                               "hri_msgs/msg/EngagementLevel", timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
    assert status is not None, log_path.read_text()[-3000:]
    assert status["header"]["frame_id"] == "camera_optical_frame"  # the image's header
    # The demo source publishes a camera_info: the level is known (one of the four states).
    assert status["level"] in (1, 2, 3, 4), status
    log = log_path.read_text()
    assert "Traceback" not in log and "engagement is UNKNOWN" not in log, log[-3000:]
