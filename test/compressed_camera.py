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
A camera process for the tests, publishing compressed images and camera_info.

A camera process for the tests: JPEG ``sensor_msgs/CompressedImage`` on
``<topic>/compressed`` and ``sensor_msgs/CameraInfo`` beside it, same header, as
image_transport's compressed camera publishers send them. Waits for a subscriber of the
images, sends ``--frames`` frames at ``--rate`` Hz and exits; prints what it sent.

    python test/compressed_camera.py --topic /camera/image_raw --rate 15 --frames 300
"""
from __future__ import annotations

import argparse
import sys
import time

import cv2
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage
from std_msgs.msg import Header

from face_perception.ros.camera_info import default_camera_info_topic, nominal_intrinsics
from face_perception.ros.demo_frames import demo_frame
from face_perception.ros.ros_messages import camera_info_msg


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", default="/camera/image_raw")
    parser.add_argument("--rate", type=float, default=15.0)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--wait-s", type=float, default=60.0, help="longest wait for a subscriber")
    options = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node("compressed_camera")
    images = node.create_publisher(CompressedImage, options.topic.rstrip("/") + "/compressed", qos_profile_sensor_data)
    infos = node.create_publisher(CameraInfo, default_camera_info_topic(options.topic), qos_profile_sensor_data)
    jpegs = [cv2.imencode(".jpg", demo_frame(index, 640, 480, 1), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
             for index in range(40)]
    k = nominal_intrinsics(640, 480, 60.0)
    deadline = time.monotonic() + options.wait_s
    while images.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            print("compressed_camera: no subscriber", flush=True)
            return 1
        time.sleep(0.05)
    period = 1.0 / options.rate
    start = time.monotonic()
    for index in range(options.frames):
        delay = start + index * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        header = Header(stamp=node.get_clock().now().to_msg(), frame_id="camera_optical_frame")
        images.publish(CompressedImage(header=header, format="jpeg", data=jpegs[index % len(jpegs)]))
        infos.publish(camera_info_msg(header, 640, 480, k))
    print(f"compressed_camera: sent {options.frames} frames in {time.monotonic() - start:.1f} s", flush=True)
    time.sleep(1.0)  # let the last samples leave before the participant goes
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
