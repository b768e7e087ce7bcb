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
The camera's ``sensor_msgs/CameraInfo``: the latest message, its intrinsics, and how often it arrives, without ROS.

Camera drivers publish ``camera_info`` beside every image with the same header
(``image_transport``'s CameraPublisher). It is small, so it arrives when the large images
do not: the node compares how many of each arrived over the same recent window, and the
shortfall of images is a count of frames lost on the way (see
:meth:`face_perception.ros.diagnostics.StreamHealth.report`). The head-pose code reads the
intrinsics from the same :class:`CameraInfoMonitor` (:meth:`CameraInfoMonitor.k_matrix`).
Time is passed in (monotonic seconds) so tests drive it without waiting.
"""
from __future__ import annotations

from collections import deque
import math
import posixpath
import threading
from typing import Any

# Arrivals older than this are forgotten; the diagnostics window is shorter.
HISTORY_S = 30.0


def nominal_intrinsics(width: int, height: int, horizontal_fov_deg: float) -> tuple[float, ...]:
    """
    Return the row-major K of an ideal pinhole camera with this field of view.

    Row-major K of an ideal pinhole camera with this field of view, centred, square
    pixels: for sources without a calibration (files, the demo sequence).
    """
    focal = 0.5 * width / math.tan(math.radians(horizontal_fov_deg) / 2.0)
    return (focal, 0.0, width / 2.0, 0.0, focal, height / 2.0, 0.0, 0.0, 1.0)


def default_camera_info_topic(image_topic: str) -> str:
    """
    ``camera_info`` beside the image topic, as image_transport names it.

    ``/camera/image_raw`` -> ``/camera/camera_info``; ``image`` (relative) -> ``camera_info``.
    """
    parent = posixpath.dirname(image_topic.rstrip("/"))
    return posixpath.join(parent, "camera_info") if parent else "camera_info"


def camera_info_topic(parameter: str, image_topic: str) -> str:
    """Return the topic to watch: the ``camera_info_topic`` parameter, or ``""`` for the default."""
    return parameter or default_camera_info_topic(image_topic)


class CameraInfoMonitor:
    """Latest CameraInfo of one camera and its arrival times (thread-safe)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._lock = threading.Lock()
        self._latest: Any = None
        self._arrivals: deque[float] = deque()
        self.received = 0

    def add(self, message: Any, now: float) -> None:
        """Record one CameraInfo that arrived at ``now``."""
        with self._lock:
            self._latest = message
            self.received += 1
            self._arrivals.append(now)
            while now - self._arrivals[0] > HISTORY_S:
                self._arrivals.popleft()

    @property
    def latest(self) -> Any:
        """Return the newest CameraInfo message, or None before the first."""
        with self._lock:
            return self._latest

    def k_matrix(self) -> tuple[tuple[float, float, float], ...] | None:
        """
        Return the newest intrinsics K as three rows, or None without a calibration.

        Return the newest intrinsics K as three rows, or None without a calibrated CameraInfo
        (no message yet, or K all zero: REP-104's 'uncalibrated camera').
        """
        message = self.latest
        if message is None:
            return None
        k = [float(value) for value in message.k]
        if len(k) != 9 or k[0] == 0.0:
            return None
        return (tuple(k[0:3]), tuple(k[3:6]), tuple(k[6:9]))  # type: ignore[return-value]

    def count_since(self, start: float) -> int:
        """Count the CameraInfo messages that arrived after ``start`` (within the last HISTORY_S)."""
        with self._lock:
            return sum(1 for arrival in self._arrivals if arrival > start)

    def rate_hz(self, now: float, window_s: float) -> float:
        """Messages per second over the last ``window_s``."""
        return self.count_since(now - window_s) / window_s if window_s > 0 else 0.0

    def seconds_since_last(self, now: float) -> float | None:
        with self._lock:
            return now - self._arrivals[-1] if self._arrivals else None
