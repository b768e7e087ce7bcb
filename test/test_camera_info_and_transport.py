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
camera_info against images and the DDS transport our start-up paths choose.

camera_info against images (frames lost on the way) and the DDS transport our start-up
paths choose, driven without ROS (time and environment passed in). The cross-process
runs with real DDS are in test_transport_across_processes.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sensor_msgs.msg import CameraInfo

from face_perception.bringup import bringup
from face_perception.bringup.dds_transport import choose_transport, large_images_profile, parse_switch
from face_perception.ros.camera_info import (
    camera_info_topic,
    CameraInfoMonitor,
    default_camera_info_topic,
    nominal_intrinsics,
)
from face_perception.ros.diagnostics import ERROR, LOSS_WARN_FRACTION, OK, StreamHealth, WARN

ROOT = Path(__file__).resolve().parent.parent
PROFILE = large_images_profile(ROOT)


def camera_info(k: list[float]) -> CameraInfo:
    return CameraInfo(width=640, height=480, k=k)


@pytest.mark.parametrize("image_topic, expected", [
    ("/camera/image_raw", "/camera/camera_info"),
    ("/head_camera/rgb/image_rect_color", "/head_camera/rgb/camera_info"),
    ("/image", "/camera_info"),
    ("image_raw", "camera_info"),
    ("front/image_raw", "front/camera_info"),
])
def test_camera_info_beside_the_image_topic_as_image_transport_names_it(image_topic, expected):
    assert default_camera_info_topic(image_topic) == expected
    assert camera_info_topic("", image_topic) == expected
    assert camera_info_topic("/calibrated/info", image_topic) == "/calibrated/info"


def test_monitor_keeps_the_latest_message_its_intrinsics_and_rate():
    monitor = CameraInfoMonitor("/camera/camera_info")
    assert monitor.latest is None and monitor.k_matrix() is None
    monitor.add(camera_info([0.0] * 9), now=0.0)  # REP-104: K[0] == 0 is an uncalibrated camera
    assert monitor.k_matrix() is None
    k = list(nominal_intrinsics(640, 480, 90.0))
    for index in range(1, 31):
        monitor.add(camera_info(k), now=index / 10.0)
    assert monitor.received == 31
    expected = ((320.0, 0.0, 320.0), (0.0, 320.0, 240.0), (0.0, 0.0, 1.0))
    assert [pytest.approx(row) for row in expected] == list(monitor.k_matrix())
    assert monitor.latest.k[0] == pytest.approx(320.0)
    assert monitor.rate_hz(now=3.0, window_s=2.0) == pytest.approx(10.0)
    assert monitor.seconds_since_last(now=4.0) == pytest.approx(1.0)


def run_camera(health: StreamHealth, monitor: CameraInfoMonitor, seconds: float, rate: float,
               delivered, start: float = 0.0) -> float:
    """camera_info for every frame; the image only when delivered(index) (30 ms later)."""
    count = int(seconds * rate)
    for index in range(count):
        now = start + index / rate
        monitor.add(camera_info([500.0, 0, 320, 0, 500, 240, 0, 0, 1]), now)
        if delivered(index):
            health.add_received(now + 0.03, 10**12 + int(now * 1e9), replaced_unprocessed=False)
            health.add_processed(now + 0.05, 20.0, 1)
    return start + count / rate


def test_a_steady_camera_losing_every_other_frame_warns_and_names_the_transport():
    monitor = CameraInfoMonitor("/camera/camera_info")
    health = StreamHealth(stale_after_s=2.0, camera_info=monitor)
    end = run_camera(health, monitor, seconds=10.0, rate=15.0, delivered=lambda i: i % 2 == 0)
    report = health.report(end)
    assert report.level == WARN
    assert "DDS transport" in report.message and "docs/deployment.md, 'DDS: large images'" in report.message
    assert report.values["frames_lost_ratio"] == pytest.approx(0.5, abs=0.03)
    # The stamp estimate cannot see this loss: the gaps between stamps stay regular.
    assert report.values["frames_missed_estimate"] == 0
    assert report.values["camera_info_hz"] == pytest.approx(15.0, abs=0.3)
    assert report.values["image_hz"] == pytest.approx(7.5, abs=0.3)


@pytest.mark.parametrize("every, expected_level", [(20, OK), (8, WARN)])  # 5% and 12.5% lost
def test_the_warning_starts_above_ten_percent_lost(every, expected_level):
    assert LOSS_WARN_FRACTION == 0.10
    monitor = CameraInfoMonitor("/camera/camera_info")
    health = StreamHealth(stale_after_s=2.0, camera_info=monitor)
    end = run_camera(health, monitor, seconds=8.0, rate=16.0, delivered=lambda i: i % every != every - 1)
    assert health.report(end).level == expected_level


def test_no_loss_is_ok_and_a_camera_info_that_starts_first_is_not_loss():
    monitor = CameraInfoMonitor("/camera/camera_info")
    health = StreamHealth(stale_after_s=2.0, camera_info=monitor)
    # camera_info matched 2 s before the image subscription did: images from index 30 on.
    end = run_camera(health, monitor, seconds=4.0, rate=15.0, delivered=lambda i: i >= 30)
    report = health.report(end)
    assert report.level == OK, report.message
    assert report.values["frames_lost_ratio"] == 0.0


def test_camera_info_without_any_image_points_at_the_images_transport():
    monitor = CameraInfoMonitor("/camera/camera_info")
    health = StreamHealth(stale_after_s=2.0, camera_info=monitor)
    end = run_camera(health, monitor, seconds=3.0, rate=15.0, delivered=lambda i: False)
    report = health.report(end)
    assert report.level == WARN
    assert "no images received yet, but camera_info arrives" in report.message and "DDS transport" in report.message


def test_a_camera_that_stops_is_stale_without_blaming_the_transport():
    monitor = CameraInfoMonitor("/camera/camera_info")
    health = StreamHealth(stale_after_s=2.0, camera_info=monitor)
    end = run_camera(health, monitor, seconds=6.0, rate=15.0, delivered=lambda i: True)
    for silence, level in ((1.5, WARN), (2.5, ERROR)):
        report = health.report(end + silence)
        assert report.level == level and "DDS transport" not in report.message, report.message
    # Images stop, camera_info goes on: that is the images' transport.
    run_camera(health, monitor, seconds=2.5, rate=15.0, delivered=lambda i: False, start=end)
    report = health.report(end + 2.5)
    assert report.level == ERROR and "but camera_info arrives" in report.message and "DDS transport" in report.message


def test_without_camera_info_the_values_say_so_and_the_level_stays_as_before():
    monitor = CameraInfoMonitor("/camera/camera_info")
    health = StreamHealth(stale_after_s=2.0, camera_info=monitor)
    for index in range(50):
        health.add_received(index / 10, 10**12 + index * 10**8, replaced_unprocessed=False)
    report = health.report(5.0)
    assert report.level == OK
    assert report.values["frames_lost_ratio"] == "no camera_info"
    assert "frames_lost_ratio" not in StreamHealth(stale_after_s=2.0).report(5.0).values


# --- the DDS transport of our own processes -----------------------------------------------
@pytest.mark.parametrize("environ", [{}, {"RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}, {"ROS_DOMAIN_ID": "3"}])
def test_our_processes_get_the_large_images_profile_when_the_user_chose_nothing(environ, tmp_path):
    choice = choose_transport(environ, enabled=True, profile_path=PROFILE, working_directory=tmp_path)
    assert choice.environment == {"FASTRTPS_DEFAULT_PROFILES_FILE": PROFILE}
    assert PROFILE in choice.description and "dds_large_images:=false" in choice.description


@pytest.mark.parametrize("environ, named", [
    ({"FASTRTPS_DEFAULT_PROFILES_FILE": "/robot/dds.xml"}, "FASTRTPS_DEFAULT_PROFILES_FILE=/robot/dds.xml"),
    ({"FASTDDS_DEFAULT_PROFILES_FILE": "/robot/dds.xml"}, "FASTDDS_DEFAULT_PROFILES_FILE"),
    ({"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}, "FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA"),
    ({"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}, "rmw_cyclonedds_cpp"),
    ({"RMW_IMPLEMENTATION": "rmw_zenoh_cpp", "FASTRTPS_DEFAULT_PROFILES_FILE": ""}, "rmw_zenoh_cpp"),
])
def test_a_transport_the_user_chose_is_kept_and_named(environ, named, tmp_path):
    choice = choose_transport(environ, enabled=True, profile_path=PROFILE, working_directory=tmp_path)
    assert choice.environment == {}
    assert named in choice.description


def test_a_profile_in_the_working_directory_counts_as_chosen_and_the_switch_turns_it_off(tmp_path):
    assert choose_transport({}, enabled=False, profile_path=PROFILE).environment == {}
    assert "Fast DDS defaults" in choose_transport({}, enabled=False, profile_path=PROFILE).description
    (tmp_path / "DEFAULT_FASTRTPS_PROFILES.xml").write_text("<profiles/>")
    assert choose_transport({}, enabled=True, profile_path=PROFILE, working_directory=tmp_path).environment == {}
    with pytest.raises(ValueError, match="dds_large_images: 'maybe'"):
        parse_switch("maybe")


def test_bringup_prints_the_environment_its_processes_get(monkeypatch, capsys):
    for variable in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE", "FASTDDS_BUILTIN_TRANSPORTS",
                     "RMW_IMPLEMENTATION"):
        monkeypatch.delenv(variable, raising=False)
    assert bringup.main(["--print"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("FASTRTPS_DEFAULT_PROFILES_FILE=")
    assert bringup.main(["--print", "dds_large_images:=false"]) == 0
    assert "FASTRTPS_DEFAULT_PROFILES_FILE=" not in capsys.readouterr().out
    assert bringup.main(["--print", "dds_large_images:=perhaps"]) == 2
    assert "dds_large_images: 'perhaps' is not a boolean" in capsys.readouterr().err
