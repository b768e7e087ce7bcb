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
Publish camera-like images from a file, folder, camera or the demo sequence.

Publish camera-like images from a video file, an image folder or file, a camera, or
the embedded demo sequence, so the graph runs without a camera driver.

Parameters (face_perception.parameters.IMAGE_SOURCE_PARAMETERS; see config/perception.yaml):
  source      'demo', a video file, an image file, a folder of images, or 'camera:<index>'
  topic       output sensor_msgs/Image topic (relative: in the node's namespace);
              sensor_msgs/CameraInfo goes to camera_info beside it (same header), as
              image_transport's camera publishers do
  horizontal_fov_deg  field of view of the nominal pinhole intrinsics in that CameraInfo
  frame_id    header.frame_id of every image (the camera's optical frame, REP-103/105)
  rate        publishing rate in Hz
  loop        start again at the end of a file/folder/demo sequence
  max_frames  stop (exit 0) after this many frames; 0 = never
  wait_for_subscribers  hold back frames until the topic has a subscriber
  demo.*      width, height, num_faces and num_frames of the demo sequence
"""
from __future__ import annotations

from pathlib import Path
import sys
import time
from typing import Callable, Iterator

import cv2
import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from face_perception.parameters import ConfigError, IMAGE_SOURCE_PARAMETERS
from face_perception.ros.camera_info import default_camera_info_topic, nominal_intrinsics
from face_perception.ros.demo_frames import demo_frame
from face_perception.ros.node_main import run_node, warn_unknown_parameters
from face_perception.ros.ros_messages import bgr_to_image_msg, camera_info_msg
from face_perception.ros.ros_parameters import declare_table

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


class SourceError(ValueError):
    """The configured source cannot be opened; the message names it."""


def _images_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)


def open_frame_source(
    source: str, loop: bool, demo_width: int = 640, demo_height: int = 480, demo_faces: int = 1, demo_frames: int = 40
) -> Iterator[np.ndarray]:
    """Return an iterator of BGR frames for the source description; raises SourceError if unusable."""
    if source == "demo":
        return _demo_frames(loop, demo_width, demo_height, demo_faces, demo_frames)
    if source.startswith("camera:"):
        index_text = source.split(":", 1)[1]
        if not index_text.isdigit():
            raise SourceError(f"source '{source}': camera index must be a number, e.g. camera:0")
        return _capture_frames(cv2.VideoCapture(int(index_text)), source, loop=False)
    path = Path(source).expanduser()
    if path.is_dir():
        files = _images_in(path)
        if not files:
            raise SourceError(f"source '{source}': folder contains no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return _file_frames(files, loop)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return _file_frames([path], loop)
        return _capture_frames(cv2.VideoCapture(str(path)), source, loop)
    raise SourceError(f"source '{source}': no such file or folder (or use 'demo' / 'camera:<index>')")


def _demo_frames(loop: bool, width: int, height: int, faces: int, count: int) -> Iterator[np.ndarray]:
    while True:
        for index in range(count):
            yield demo_frame(index, width, height, faces)
        if not loop:
            return


def _file_frames(files: list[Path], loop: bool) -> Iterator[np.ndarray]:
    while True:
        for path in files:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                print(f"[image_source] skipping unreadable image {path}", file=sys.stderr)
                continue
            yield image
        if not loop:
            return


def _capture_frames(capture: cv2.VideoCapture, source: str, loop: bool) -> Iterator[np.ndarray]:
    if not capture.isOpened():
        raise SourceError(f"source '{source}': OpenCV cannot open it as a video or camera")

    def frames() -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = capture.read()
                if ok:
                    yield frame
                    continue
                if not loop:
                    return
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = capture.read()
                if not ok:
                    return
                yield frame
        finally:
            capture.release()

    return frames()


class ImageSourceNode(Node):
    def __init__(self, on_finished: Callable[[], None] | None = None, **node_kwargs) -> None:
        super().__init__("image_source", **node_kwargs)
        self._on_finished = on_finished
        try:
            values = declare_table(self, IMAGE_SOURCE_PARAMETERS)
        except ConfigError as error:
            raise SourceError(str(error)) from error
        source, topic, rate, loop = values["source"], values["topic"], values["rate"], values["loop"]
        self._frame_id = values["frame_id"]
        self._fov_deg = values["horizontal_fov_deg"]
        self._wait_for_subscribers = values["wait_for_subscribers"]
        self._max_frames = values["max_frames"]
        width, height = values["demo.width"], values["demo.height"]
        faces, count = values["demo.num_faces"], values["demo.num_frames"]
        if not topic:
            raise SourceError("topic: must not be empty")
        self._frames = open_frame_source(source, loop, width, height, faces, count)
        self._publisher = self.create_publisher(Image, topic, qos_profile_sensor_data)
        topic = self._publisher.topic_name  # resolved, for the log line
        # camera_info beside the image, like a camera driver: consumers count lost frames
        # against it and read the intrinsics from it.
        self._camera_info_publisher = self.create_publisher(
            CameraInfo, default_camera_info_topic(topic), qos_profile_sensor_data
        )
        self._intrinsics: tuple[tuple[int, int], tuple[float, ...]] | None = None
        self._published = 0
        self._period = 1.0 / rate
        self._next_publish = 0.0
        self._timer = self.create_timer(self._period, self._publish_next)
        warn_unknown_parameters(self)
        self.get_logger().info(f"publishing '{source}' on {topic} (and {default_camera_info_topic(topic)}) at "
                               f"{rate:g} Hz, frame_id '{self._frame_id}'")

    @property
    def published(self) -> int:
        return self._published

    def _publish_next(self) -> None:
        if self._wait_for_subscribers and self._publisher.get_subscription_count() == 0:
            return
        # Pace on the clock as well as the timer: a timer that fell behind (slow frame
        # decoding, a busy CPU) must not publish a burst to catch up.
        now = time.monotonic()
        if now < self._next_publish - 0.25 * self._period:
            return
        self._next_publish = max(self._next_publish + self._period, now)
        frame = next(self._frames, None)
        if frame is None or (self._max_frames and self._published >= self._max_frames):
            self.get_logger().info(f"source finished after {self._published} frames")
            self._timer.cancel()
            if self._on_finished:
                self._on_finished()
            return
        message = bgr_to_image_msg(frame, self.get_clock().now().to_msg(), self._frame_id)
        size = (message.width, message.height)
        if self._intrinsics is None or self._intrinsics[0] != size:
            self._intrinsics = (size, nominal_intrinsics(*size, self._fov_deg))
        self._publisher.publish(message)
        self._camera_info_publisher.publish(camera_info_msg(message.header, *size, self._intrinsics[1]))
        self._published += 1


def main(args: list[str] | None = None) -> int:
    finished = False

    def stop() -> None:
        nonlocal finished
        finished = True

    def spin_until_finished(node: Node) -> None:
        while rclpy.ok() and not finished:
            rclpy.spin_once(node, timeout_sec=0.1)

    return run_node(lambda: ImageSourceNode(on_finished=stop), spin_until_finished,
                    (SourceError, rclpy.exceptions.ParameterException), "image_source", args)


if __name__ == "__main__":
    sys.exit(main())
