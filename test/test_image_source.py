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

"""The image source node: every kind of source, bad sources refused, real headers."""
from __future__ import annotations

import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from face_perception.ros.demo_frames import demo_frame
from face_perception.ros.image_source_node import open_frame_source, SourceError


def take(frames, count):
    return [frame for _, frame in zip(range(count), frames)]


def test_folder_of_images_in_name_order_and_looping(tmp_path):
    for index in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"frame_{index}.png"), np.full((20, 30, 3), index * 50, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    frames = take(open_frame_source(str(tmp_path), loop=True), 5)
    assert [int(frame[0, 0, 0]) for frame in frames] == [0, 50, 100, 0, 50]
    assert len(take(open_frame_source(str(tmp_path), loop=False), 10)) == 3


def test_video_file(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for index in range(6):
        writer.write(cv2.resize(demo_frame(index), (160, 120)))
    writer.release()
    frames = take(open_frame_source(str(path), loop=False), 100)
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)


def test_demo_source_matches_the_demo_frames():
    frames = take(open_frame_source("demo", loop=True, demo_width=320, demo_height=240, demo_faces=2, demo_frames=3), 4)
    assert np.array_equal(frames[1], demo_frame(1, 320, 240, 2))
    assert np.array_equal(frames[3], frames[0])


@pytest.mark.parametrize(
    "source, message",
    [("/no/such/video.mp4", "no such file"), ("camera:front", "camera index"), ("{empty}", "no images")],
)
def test_unusable_sources_are_refused_naming_them(tmp_path, source, message):
    source = source.replace("{empty}", str(tmp_path))
    with pytest.raises(SourceError, match=message):
        open_frame_source(source, loop=False)


@pytest.mark.ros
def test_node_publishes_frames_and_camera_info_with_a_real_header_then_stops(tmp_path):
    rclpy.init()
    try:
        listener = rclpy.create_node("listener")
        received: list[Image] = []
        listener.create_subscription(Image, "/test_camera/image", received.append, qos_profile_sensor_data)
        infos: list[CameraInfo] = []
        listener.create_subscription(CameraInfo, "/test_camera/camera_info", infos.append, qos_profile_sensor_data)
        process = subprocess.Popen(
            [sys.executable, "-m", "face_perception.ros.image_source_node", "--ros-args",
             "-p", "topic:=/test_camera/image", "-p", "frame_id:=test_optical_frame", "-p", "rate:=20.0",
             "-p", "max_frames:=5", "-p", "wait_for_subscribers:=true", "-p", "demo.width:=320",
             "-p", "demo.height:=240", "-p", "horizontal_fov_deg:=90.0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            rclpy.spin_once(listener, timeout_sec=0.05)
        for _ in range(10):
            rclpy.spin_once(listener, timeout_sec=0.05)
        output = process.communicate(timeout=10)[0]
        assert process.returncode == 0, output
        assert "finished after 5 frames" in output
        assert 1 <= len(received) <= 5
        first = received[0]
        assert first.header.frame_id == "test_optical_frame"
        assert first.header.stamp.sec > 0
        assert (first.width, first.height, first.encoding, first.step) == (320, 240, "bgr8", 960)
        stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in received]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        # camera_info beside the image, same header (image_transport's camera publisher).
        assert len(infos) >= len(received)
        info_by_stamp = {(i.header.stamp.sec, i.header.stamp.nanosec): i for i in infos}
        info = info_by_stamp[(first.header.stamp.sec, first.header.stamp.nanosec)]
        assert info.header.frame_id == "test_optical_frame" and (info.width, info.height) == (320, 240)
        assert list(info.k) == pytest.approx([160.0, 0.0, 160.0, 0.0, 160.0, 120.0, 0.0, 0.0, 1.0])
        listener.destroy_node()
    finally:
        rclpy.shutdown()


@pytest.mark.ros
def test_node_refuses_a_bad_source_with_exit_code_1():
    completed = subprocess.run(
        [sys.executable, "-m", "face_perception.ros.image_source_node", "--ros-args", "-p", "source:=/no/such/folder"],
        capture_output=True, text=True, timeout=30,
    )
    assert completed.returncode == 1
    assert "/no/such/folder" in completed.stderr
    assert "Traceback" not in completed.stderr
