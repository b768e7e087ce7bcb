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
Faults a robot meets, through the real node.

Faults a robot meets, through the real node: bad and oversized frames, a camera that
stops, lost frames, typos in parameters, unusable ROS arguments (issue 10, section 3).
"""
from __future__ import annotations

import gc
import signal
import subprocess
import sys
import time

from diagnostic_msgs.msg import DiagnosticStatus
import numpy as np
import psutil
import pytest
from rcl_interfaces.msg import Log
import rclpy
from rclpy.parameter import Parameter
from std_msgs.msg import Header

from conftest import wait_for
from face_perception.ros.perception_node import PerceptionNode
from ros_helpers import image_message

pytestmark = pytest.mark.ros


def latest_status(probe) -> DiagnosticStatus | None:
    return probe.diagnostics[-1].status[0] if probe.diagnostics else None


def wait_for_level(probe, level: bytes, timeout: float) -> DiagnosticStatus:
    assert wait_for(lambda: latest_status(probe) is not None and latest_status(probe).level == level, timeout), (
        f"no /diagnostics level {level!r} within {timeout} s; last: {latest_status(probe)}"
    )
    return latest_status(probe)


def rosout_barrier(node, logged: list[str], name: str, timeout: float = 10.0) -> bool:
    """
    Log a marker through ``node`` until it comes back on /rosout; return whether it did.

    /rosout keeps the order of one node's lines, so once the marker is in ``logged`` every
    line the node logged before it is there too (and the subscription is matched).
    """
    marker = f"test marker: {name}"

    def arrived() -> bool:
        if marker in logged:
            return True
        node.get_logger().info(marker)
        return False

    return wait_for(arrived, timeout)


def values_of(status: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def test_diagnostics_follow_the_recent_window_a_stale_camera_and_lost_frames(ros_graph, astronaut_bgr):
    node, probe = ros_graph({"diagnostics_period": 0.2, "diagnostics.stale_after": 3.0})
    small = astronaut_bgr[::2, ::2].copy()  # quicker frames, same face
    stamp = [2000]

    def send_good(count: int, skip: int = 0) -> None:
        for _ in range(count):
            stamp[0] += 1 + skip
            skip = 0
            header = Header(stamp=rclpy.time.Time(seconds=stamp[0]).to_msg(), frame_id="cam")
            probe.image_pub.publish(image_message(small, header))
            assert wait_for(lambda: probe.attributes_for(header) is not None)
            time.sleep(0.1)  # paces the camera at ~10 Hz (the diagnostics windows are wall-clock time)

    send_good(5)
    bad = image_message(small, Header(stamp=rclpy.time.Time(seconds=stamp[0] + 1).to_msg(), frame_id="cam"))
    stamp[0] += 1
    bad.encoding = "yuv422_yuy2"
    probe.image_pub.publish(bad)
    assert wait_for(lambda: "bad frame" in (latest_status(probe) or DiagnosticStatus()).message, timeout=3.0), \
        latest_status(probe)
    status = latest_status(probe)
    assert status.level == DiagnosticStatus.WARN and "yuv422_yuy2" in status.message
    # Good frames for longer than the window: back to OK, the total kept as a value.
    # Three stamps are skipped on the way: frames the camera sent that never arrived.
    send_good(8)
    send_good(1, skip=3)
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline and latest_status(probe).level != DiagnosticStatus.OK:
        send_good(1)
    status = latest_status(probe)
    assert status.level == DiagnosticStatus.OK, status
    values = values_of(status)
    assert values["bad_frames"] == "1" and values["bad_frames_recent"] == "0", values
    assert values["frames_missed_estimate"] == "3", values
    # The camera stops: WARN from half of stale_after, then ERROR, then OK when it returns.
    status = wait_for_level(probe, DiagnosticStatus.WARN, timeout=4.0)
    assert "no image for" in status.message
    status = wait_for_level(probe, DiagnosticStatus.ERROR, timeout=4.0)
    assert "diagnostics.stale_after 3 s" in status.message
    send_good(2)
    wait_for_level(probe, DiagnosticStatus.OK, timeout=2.0)


def test_bad_frame_warnings_are_throttled_per_cause(ros_graph, astronaut_bgr):
    node, probe = ros_graph()
    logged: list[str] = []
    probe.node.create_subscription(
        Log, "/rosout", lambda m: logged.append(m.msg) if m.name == node.get_name() else None, 100)
    assert rosout_barrier(node, logged, "discovery")
    encodings = ["yuv422", "bayer_rggb8", "nv12", "uyvy", "32FC1", "jpeg"]  # six causes
    for repeat in range(2):
        for encoding in encodings:
            message = image_message(astronaut_bgr, probe.header())
            message.encoding = encoding
            probe.image_pub.publish(message)
            expected = repeat * len(encodings) + encodings.index(encoding) + 1
            assert wait_for(lambda: node.statistics["bad_frames"] >= expected)
    assert wait_for(lambda: sum("frame skipped" in text for text in logged) >= len(encodings), timeout=3.0)
    # A good frame after the bad ones: once its result is out, the worker thread has logged
    # about every bad frame; a marker logged after that arrives after all of those lines.
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    assert rosout_barrier(node, logged, "after the bad frames")
    skipped = [text for text in logged if "frame skipped" in text]
    # Each cause once (its repeat held back), none hidden by another.
    assert len(skipped) == len(encodings), skipped
    assert all(any(f"'{encoding}'" in text for text in skipped) for encoding in encodings), skipped


def test_frames_above_max_image_pixels_are_refused_with_the_reason(ros_graph, astronaut_bgr):
    node, probe = ros_graph()
    assert node.set_parameters([Parameter("max_image_pixels", value=100_000)])[0].successful  # at run time
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: node.statistics["bad_frames"] == 1)
    assert "512x512 (262144 pixels) is larger than max_image_pixels 100000" in node.statistics["last_error"]
    assert probe.attributes_for(header) is None
    assert not node.set_parameters([Parameter("max_image_pixels", value=10)])[0].successful  # below the range
    assert node.set_parameters([Parameter("max_image_pixels", value=4096 * 4096)])[0].successful
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)


def test_an_8k_frame_is_refused_before_any_copy_and_memory_stays_near_baseline(model_parameters):
    # 100 MB samples do not fit the tests' DDS transport, so the node's frame handler gets
    # the message directly, as its subscription callback would.
    context = rclpy.Context()
    rclpy.init(context=context)
    node = PerceptionNode(context=context,
                          parameter_overrides=[Parameter(k, value=v) for k, v in model_parameters.items()])
    try:
        process = psutil.Process()
        gc.collect()
        baseline_mb = process.memory_info().rss / 2**20
        for index in range(3):
            header = Header(stamp=rclpy.time.Time(seconds=3000 + index).to_msg(), frame_id="cam")
            message = image_message(np.zeros((4320, 7680, 3), np.uint8), header)
            node._process(message, time.perf_counter())  # noqa: SLF001 - see above
            del message
        gc.collect()
        after_mb = process.memory_info().rss / 2**20
        statistics = node.statistics
        assert statistics["bad_frames"] == 3 and statistics["frames_processed"] == 0
        assert "7680x4320 (33177600 pixels) is larger than max_image_pixels 16777216" in statistics["last_error"]
        # Processed instead, the three frames left about +40 MB here.
        assert after_mb - baseline_mb < 15, (baseline_mb, after_mb)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


def node_process(*ros_arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "face_perception.ros.perception_node", "--ros-args", *ros_arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [(("--params-file", "/nope.yaml"), "/nope.yaml"), (("-p", "image_topic:="), "image_topic"),
     (("-p", "camera_info_topic:=/cam/2d info"), "camera_info_topic")],
)
def test_unusable_ros_arguments_end_in_one_fatal_line_and_exit_1(arguments, named):
    process = node_process(*arguments)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    fatal = [line for line in output.splitlines() if "FATAL" in line]
    assert len(fatal) == 1 and named in fatal[0], output
    assert "Traceback" not in output


def test_unknown_parameters_are_warned_about_with_the_closest_name(model_parameters, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("face_perception:\n  ros__parameters:\n    detection:\n      scalefactor: 1.2\n")
    arguments = ["--params-file", str(params), "-p", "max_face:=3"]
    for name, value in model_parameters.items():
        arguments += ["-p", f"{name}:={value}"]
    process = node_process(*arguments)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and not any("watching" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate()
    output = "".join(lines) + rest
    assert "unknown parameter 'detection.scalefactor' is ignored; did you mean 'detection.scale_factor'?" in output
    assert "unknown parameter 'max_face' is ignored; did you mean 'max_faces'?" in output
    assert output.count("unknown parameter") == 2, output
    assert process.returncode == 0, output
