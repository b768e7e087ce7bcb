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
The real ROS graph: camera images in, /faces/attributes out, through the node.

The real ROS graph: this process publishes camera images, the node (a subprocess started
as ``python -m face_perception.ros.perception_node``) processes them, and this process receives
/faces/attributes. Latency is receipt time minus the image's header stamp (set when it was
published); drops come from the node's own /diagnostics counters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path
import subprocess
import sys
import threading
import time
from typing import Any

from benchlib.common import frame_message, FrameConfig, percentile, progress, REPO_ROOT

IMAGE_TOPIC = "/benchmark/image_raw"
CAMERA_INFO_TOPIC = "/benchmark/camera_info"  # the node's default: camera_info beside the image topic
# Distinct frames cycled through by the publisher (pre-built so publishing costs little).
DISTINCT_FRAMES = 40


@dataclass(frozen=True)
class RosRun:
    name: str
    config: FrameConfig
    rate_hz: float
    seconds: float
    node_params: tuple[tuple[str, Any], ...] = ()  # parameter overrides for the node
    annotated_viewer: bool = False  # subscribe to /faces/annotated_image (the node then draws)
    # > 0: publish sensor_msgs/CompressedImage JPEGs of this quality on <topic>/compressed,
    # encoded after stamping (as a camera-side image_transport does), for use_compressed.
    jpeg_quality: int = 0
    # Also publish a sensor_msgs/CameraInfo (nominal 60 degree pinhole) with every image: the
    # head pose and the eye gaze need one (the face mesh benchmark, --mesh).
    camera_info: bool = False


@dataclass
class NodeProcess:
    """The perception node subprocess and its memory/CPU samples."""

    process: subprocess.Popen
    log_path: Path
    peak_rss_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample_memory(self) -> None:
        import psutil

        proc = psutil.Process(self.process.pid)
        while not self._stop.is_set() and self.process.poll() is None:
            try:
                self.peak_rss_mb = max(self.peak_rss_mb, proc.memory_info().rss / 2**20)
            except psutil.Error:
                return
            time.sleep(0.1)

    def high_water_mark_mb(self) -> float:
        """VmHWM: the kernel's own peak RSS of the node process (covers between samples)."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return self.peak_rss_mb

    def cpu_seconds(self) -> float:
        import psutil

        try:
            times = psutil.Process(self.process.pid).cpu_times()
            return times.user + times.system
        except psutil.Error:
            return float("nan")

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            self.process.send_signal(subprocess.signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def node_command(params: dict[str, Any]) -> list[str]:
    command = [sys.executable, "-m", "face_perception.ros.perception_node", "--ros-args"]
    for name, value in params.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        command += ["-p", f"{name}:={text}"]
    return command


def start_node(params: dict[str, Any], log_dir: Path) -> NodeProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"perception_node_{int(time.time() * 1000)}.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(node_command(params), stdout=log, stderr=subprocess.STDOUT, env=env)
    node = NodeProcess(process, log_path)
    threading.Thread(target=node.sample_memory, daemon=True).start()
    return node


class Driver:
    """Publisher and subscribers in this process, spun by a background executor."""

    def __init__(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from face_perception_msgs.msg import FaceAttributesArray
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        self.node = rclpy.create_node("face_perception_benchmark")
        from sensor_msgs.msg import CompressedImage

        self.image_pub = self.node.create_publisher(Image, IMAGE_TOPIC, qos_profile_sensor_data)
        self.compressed_pub = self.node.create_publisher(CompressedImage, IMAGE_TOPIC + "/compressed",
                                                         qos_profile_sensor_data)
        from sensor_msgs.msg import CameraInfo

        self.info_pub = self.node.create_publisher(CameraInfo, CAMERA_INFO_TOPIC, qos_profile_sensor_data)
        self.send_camera_info = False
        self._compressed_type = CompressedImage
        self.lock = threading.Lock()
        self.received: dict[int, tuple[int, int]] = {}  # stamp ns -> (receipt ns, faces)
        self.annotated_count = 0
        self.diagnostics: dict[str, str] = {}
        self.diagnostics_count = 0
        self.attributes_sub = self.node.create_subscription(
            FaceAttributesArray, "/faces/attributes", self._on_attributes, 50)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self._image_type, self._sensor_qos = Image, qos_profile_sensor_data
        self.annotated_sub = None
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def _on_attributes(self, message) -> None:
        now = self.now_ns()
        stamp = message.header.stamp.sec * 10**9 + message.header.stamp.nanosec
        with self.lock:
            self.received[stamp] = (now, len(message.faces))

    def _on_diagnostics(self, message) -> None:
        for status in message.status:
            if "face perception" in status.name:
                with self.lock:
                    self.diagnostics = {kv.key: kv.value for kv in status.values}
                    self.diagnostics_count += 1

    def _on_annotated(self, _message) -> None:
        self.annotated_count += 1

    def set_annotated_viewer(self, enabled: bool) -> None:
        if enabled and self.annotated_sub is None:
            self.annotated_sub = self.node.create_subscription(
                self._image_type, "/faces/annotated_image", self._on_annotated, self._sensor_qos)
        elif not enabled and self.annotated_sub is not None:
            self.node.destroy_subscription(self.annotated_sub)
            self.annotated_sub = None

    def wait_connected(self, node: NodeProcess, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                raise RuntimeError(f"perception node exited with {node.process.returncode}; log: {node.log_path}\n"
                                   + node.log_path.read_text(errors="replace")[-2000:])
            inputs = self.image_pub.get_subscription_count() + self.compressed_pub.get_subscription_count()
            if inputs > 0 and self.attributes_sub.get_publisher_count() > 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"perception node did not connect within {timeout:.0f} s; log: {node.log_path}")

    def diagnostics_after(self, count: int, timeout: float) -> dict[str, str]:
        """Return the first /diagnostics values published after ``count`` earlier ones."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.diagnostics_count > count:
                    return dict(self.diagnostics)
            time.sleep(0.05)
        with self.lock:
            return dict(self.diagnostics)

    def publish_stamped(self, message, jpeg_quality: int = 0) -> int:
        """
        Stamp ``message`` with the current time and publish it.

        Stamp ``message`` with the current time and publish it (as a JPEG CompressedImage
        when ``jpeg_quality`` > 0, encoded after the stamp); returns the stamp in ns.
        """
        from builtin_interfaces.msg import Time

        now = self.now_ns()
        message.header.stamp = Time(sec=now // 10**9, nanosec=now % 10**9)
        if self.send_camera_info:
            self.info_pub.publish(_camera_info(message.header, message.width, message.height))
        if jpeg_quality:
            self.compressed_pub.publish(jpeg_message(message, jpeg_quality, self._compressed_type))
        else:
            self.image_pub.publish(message)
        return now

    def publish_sequence(self, frames: list, count: int, rate_hz: float, jpeg_quality: int = 0) -> list[int]:
        """Publish ``count`` frames at ``rate_hz`` (stamped now); returns their stamps in ns."""
        stamps = []
        period = 1.0 / rate_hz
        start = time.perf_counter()
        for index in range(count):
            delay = start + index * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            stamps.append(self.publish_stamped(frames[index % len(frames)], jpeg_quality))
        return stamps

    def wait_for_outputs(self, stamps: list[int], settle: float) -> None:
        """Until every stamp came back or nothing new arrived for ``settle`` seconds."""
        wanted = set(stamps)
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < settle:
            with self.lock:
                count = len(wanted.intersection(self.received))
            if count == len(wanted):
                return
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            time.sleep(0.05)

    def destroy(self) -> None:
        from face_perception.ros.node_main import stop_spinning

        stop_spinning(self.executor, self.thread, [self.node])


def _camera_info(header, width: int, height: int):
    """Return the CameraInfo of a 60 degree pinhole for an image (image_source_node's nominal intrinsics)."""
    import math

    from face_perception.ros.ros_messages import camera_info_msg

    focal = width / 2 / math.tan(math.radians(30.0))
    return camera_info_msg(header, width, height, [focal, 0.0, width / 2, 0.0, focal, height / 2, 0.0, 0.0, 1.0])


def jpeg_message(image, quality: int, compressed_type=None):
    """
    Return a bgr8 sensor_msgs/Image as a JPEG sensor_msgs/CompressedImage.

    Return a bgr8 sensor_msgs/Image as the JPEG sensor_msgs/CompressedImage that image_transport's
    compressed plugin publishes (format "bgr8; jpeg compressed bgr8"), same header.
    """
    import cv2
    import numpy as np

    if compressed_type is None:
        from sensor_msgs.msg import CompressedImage as compressed_type
    bgr = np.frombuffer(image.data, dtype=np.uint8).reshape(image.height, image.width, 3)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return compressed_type(header=image.header, format="bgr8; jpeg compressed bgr8", data=encoded.tobytes())


def measure_run(driver: Driver, node: NodeProcess, run: RosRun, warmup_frames: int) -> dict[str, Any]:
    frames = [frame_message(run.config, index) for index in range(DISTINCT_FRAMES)]
    driver.set_annotated_viewer(run.annotated_viewer)
    driver.send_camera_info = run.camera_info
    time.sleep(0.5)  # let the (un)subscription reach the node
    warm = driver.publish_sequence(frames, warmup_frames, run.rate_hz, run.jpeg_quality)
    driver.wait_for_outputs(warm, settle=1.0)
    before = driver.diagnostics_after(driver.diagnostics_count, timeout=2.0)
    own = _own_cpu_seconds()
    cpu_before, wall_before = node.cpu_seconds(), time.perf_counter()
    count = max(2, int(round(run.seconds * run.rate_hz)))
    stamps = driver.publish_sequence(frames, count, run.rate_hz, run.jpeg_quality)
    driver.wait_for_outputs(stamps, settle=1.5)
    cpu_after, wall_after = node.cpu_seconds(), time.perf_counter()
    own = (_own_cpu_seconds() - own) / (wall_after - wall_before)
    after = driver.diagnostics_after(driver.diagnostics_count, timeout=2.0)
    with driver.lock:
        outputs = [(stamp, *driver.received[stamp]) for stamp in stamps if stamp in driver.received]
    result = summarize_run(run, stamps, outputs, before, after, (cpu_after - cpu_before) / (wall_after - wall_before))
    result["driver_cpu_cores"] = own  # this process (publisher + subscriber) competes for the same cores
    return result


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def summarize_run(run: RosRun, stamps: list[int], outputs: list[tuple[int, int, int]],
                  before: dict[str, str], after: dict[str, str], node_cores: float) -> dict[str, Any]:
    latencies = [(received - stamp) / 1e6 for stamp, received, _faces in outputs]
    receipts = sorted(received for _stamp, received, _faces in outputs)
    span_s = (receipts[-1] - receipts[0]) / 1e9 if len(receipts) > 1 else 0.0
    input_span_s = (stamps[-1] - stamps[0]) / 1e9 if len(stamps) > 1 else 0.0

    def delta(key: str) -> int | None:
        try:
            return int(after[key]) - int(before[key])
        except (KeyError, ValueError):
            return None

    return {
        "name": run.name,
        "frame_config": run.config.key,
        "label": run.config.label,
        "rate_hz": run.rate_hz,
        "input_fps": (len(stamps) - 1) / input_span_s if input_span_s else float("nan"),
        "node_params": dict(run.node_params),
        "annotated_viewer": run.annotated_viewer,
        "jpeg_quality": run.jpeg_quality,
        "published": len(stamps),
        "outputs": len(outputs),
        "output_fps": (len(receipts) - 1) / span_s if span_s else float("nan"),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "latency_max_ms": max(latencies) if latencies else float("nan"),
        "faces_mean": sum(f for *_rest, f in outputs) / len(outputs) if outputs else float("nan"),
        "node_received": delta("frames_received"),
        "node_processed": delta("frames_processed"),
        "node_dropped": delta("frames_dropped"),
        "lost_before_node": (len(stamps) - delta("frames_received")) if delta("frames_received") is not None else None,
        "node_cpu_cores": node_cores,
    }


def run_graph(runs: list[RosRun], base_params: dict[str, Any], warmup_frames: int, log_dir: Path) -> dict[str, Any]:
    """Every run, one node process per distinct node parameter set; returns runs and node RSS."""
    import rclpy

    rclpy.init()
    driver = Driver()
    results, nodes = [], []
    try:
        groups: dict[tuple, list[RosRun]] = {}
        for run in runs:
            groups.setdefault(run.node_params, []).append(run)
        for params, group in groups.items():
            progress(f"ROS: starting perception node with {dict(params) or 'defaults'}")
            node = start_node({**base_params, **dict(params)}, log_dir)
            try:
                driver.wait_connected(node, timeout=90.0)
                for run in group:
                    progress(f"ROS: {run.name}: {run.config.label} at {run.rate_hz:g} Hz for {run.seconds:g} s")
                    results.append(measure_run(driver, node, run, warmup_frames))
                nodes.append({"node_params": dict(params), "peak_rss_mb_sampled": node.peak_rss_mb,
                              "peak_rss_mb": node.high_water_mark_mb(), "log": str(node.log_path)})
            finally:
                node.stop()
    finally:
        driver.destroy()
        rclpy.shutdown()
    return {"runs": results, "nodes": nodes}
