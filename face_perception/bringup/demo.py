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
Run the whole graph on the embedded demo sequence and show what it sees.

Starts the image source (the astronaut sequence, see demo_frames.py) and the
perception node with the same graph description and YAML as ``face-perception-bringup
image_source:=demo``, here as nodes of one process, listens to /faces/attributes and /faces/annotated_image,
prints one line per frame and writes the annotated frames to a folder.
Exits 0 when results came back and every one shows exactly the faces in the frame.
"""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
import sys
import threading
import time

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from face_perception_msgs.msg import FaceAttributesArray
import rclpy
import rclpy.executors
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from face_perception.bringup.bringup import package_share_directory
from face_perception.bringup.graph import describe_graph, IMAGE_SOURCE_NODE_NAME
from face_perception.ros import ros_messages
from face_perception.ros.image_source_node import ImageSourceNode, SourceError
from face_perception.ros.node_main import stop_spinning
from face_perception.ros.perception_node import (
    ANNOTATED_TOPIC,
    ATTRIBUTES_TOPIC,
    DIAGNOSTICS_TOPIC,
    PerceptionNode,
    StartupError,
)


def _parameters(values: dict) -> list[Parameter]:
    return [Parameter(name, value=value) for name, value in values.items()]


def fastdds_profile() -> Path:
    return package_share_directory() / "config" / "fastdds_local_only.xml"


def stamp_key(stamp) -> tuple[int, int]:
    return (stamp.sec, stamp.nanosec)


class DemoListener(Node):
    def __init__(self, output: Path) -> None:
        super().__init__("face_perception_demo")
        self.output = output
        self.frames: dict[tuple[int, int], FaceAttributesArray] = {}
        self.latencies_ms: list[float] = []
        self.images_written = 0
        self.node_statistics: dict[str, str] = {}
        # Best effort: with the image stream alongside, the reliable protocol between the
        # node and this process stalled over loopback in our runs (docs/deployment.md, "DDS").
        self.create_subscription(FaceAttributesArray, ATTRIBUTES_TOPIC, self._on_attributes, qos_profile_sensor_data)
        self.create_subscription(Image, ANNOTATED_TOPIC, self._on_annotated, qos_profile_sensor_data)
        self.create_subscription(DiagnosticArray, DIAGNOSTICS_TOPIC, self._on_diagnostics, 10)

    def _on_diagnostics(self, message: DiagnosticArray) -> None:
        for status in message.status:
            if status.hardware_id.endswith("face_perception"):
                self.node_statistics = {kv.key: kv.value for kv in status.values}

    def _on_attributes(self, message: FaceAttributesArray) -> None:
        now_ns = self.get_clock().now().nanoseconds
        stamp_ns = message.header.stamp.sec * 10**9 + message.header.stamp.nanosec
        latency_ms = (now_ns - stamp_ns) / 1e6
        self.latencies_ms.append(latency_ms)
        index = len(self.frames)
        self.frames[stamp_key(message.header.stamp)] = message
        faces = "; ".join(
            f"{face.track_id} box=({face.bbox.x_offset},{face.bbox.y_offset},{face.bbox.width}x{face.bbox.height}) "
            f"{face.gender} {face.gender_confidence:.2f} {face.emotion} {face.emotion_confidence:.2f}"
            + (f" age {face.age:.0f} {face.age_confidence:.2f} group {face.age_group}"
               f" child {face.child_probability:.2f}{' (child)' if face.is_child else ''}"
               if math.isfinite(face.age) else "")
            for face in message.faces
        )
        print(
            f"frame {index:3d} [{message.header.frame_id} "
            f"{message.header.stamp.sec}.{message.header.stamp.nanosec:09d}] "
            f"latency {latency_ms:6.1f} ms, {len(message.faces)} face(s): {faces or '-'}",
            flush=True,
        )

    def _on_annotated(self, message: Image) -> None:
        bgr = ros_messages.image_msg_to_bgr(message)
        path = self.output / f"frame_{message.header.stamp.sec}_{message.header.stamp.nanosec:09d}.jpg"
        cv2.imwrite(str(path), bgr)
        self.images_written += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=30, help="frames to publish (default 30)")
    parser.add_argument("--rate", type=float, default=10.0, help="frames per second (default 10)")
    parser.add_argument("--faces", type=int, default=1, help="faces per frame (default 1)")
    parser.add_argument("--output", type=Path, default=Path("out/demo"), help="folder for annotated frames")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    parser.add_argument("--params-file", default="",
                        help="parameter YAML (default: the package's config/perception.yaml)")
    options = parser.parse_args(argv)
    if options.frames < 1 or options.rate <= 0 or options.faces < 0:
        parser.error("--frames must be >= 1, --rate > 0 and --faces >= 0")
    options.output.mkdir(parents=True, exist_ok=True)
    for old in options.output.glob("frame_*.jpg"):
        old.unlink()

    graph = describe_graph({"image_source": "demo", "params_file": options.params_file}, package_share_directory())
    demo_overrides = {
        "max_frames": options.frames,
        "loop": True,
        "rate": options.rate,
        "wait_for_subscribers": True,
        "demo.num_faces": options.faces,
        "demo.num_frames": options.frames,
    }
    # The three nodes share this process (one DDS participant per node, as in
    # ros2 launch with a component container): separate node processes on the pip wheels
    # intermittently stopped delivering /faces/attributes to the listener (see docs/deployment.md, "DDS").
    os.environ.setdefault("FASTRTPS_DEFAULT_PROFILES_FILE", str(fastdds_profile()))
    rclpy.init(args=["--ros-args", "--params-file", graph.params_file])
    perception_spec = next(spec for spec in graph.nodes if spec.name != IMAGE_SOURCE_NODE_NAME)
    perception_overrides = {k: v for p in perception_spec.parameters if isinstance(p, dict) for k, v in p.items()}
    nodes = []
    try:
        listener = DemoListener(options.output)
        nodes.append(listener)
        perception = PerceptionNode(parameter_overrides=_parameters(perception_overrides))
        nodes.append(perception)
        source_finished = threading.Event()
        source = ImageSourceNode(on_finished=source_finished.set, parameter_overrides=_parameters(demo_overrides))
        nodes.append(source)
    except (StartupError, SourceError, ValueError) as error:
        print(f"[demo] cannot start: {error}", file=sys.stderr)
        for node in nodes:
            node.destroy_node()
        rclpy.shutdown()
        return 1
    print(f"[demo] started perception_node, image_source_node, listener with {graph.params_file}", flush=True)
    # Single-threaded: with rclpy's MultiThreadedExecutor this demo measured p50 190 / p95
    # 706 ms end to end on 2 cores, with this one p50 28 / p95 37 ms (the node works on its own thread).
    executor = rclpy.executors.SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    deadline = time.monotonic() + options.timeout
    try:
        while time.monotonic() < deadline and len(listener.frames) < options.frames:
            if source_finished.wait(timeout=0.05):
                # Give the last frames time to come through the pipeline.
                settle = time.monotonic() + 3.0
                while time.monotonic() < settle and len(listener.frames) < source.published:
                    time.sleep(0.05)
                break
        time.sleep(1.2)  # the last annotated images and one more /diagnostics message (1 s period)
    finally:
        stop_spinning(executor, spinner, nodes)
        rclpy.shutdown()

    received = len(listener.frames)
    with_face = sum(1 for message in listener.frames.values() if message.faces)
    latencies = sorted(listener.latencies_ms)
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else float("nan")
    statistics = listener.node_statistics
    print(
        f"[demo] {received}/{options.frames} frames came back, {with_face} with a face; "
        f"end-to-end latency p50 {p50:.1f} ms, p95 {p95:.1f} ms (header stamp to receipt); "
        f"{listener.images_written} annotated frames in {options.output}/"
    )
    if statistics:
        print(
            "[demo] node diagnostics (last /diagnostics message): "
            + ", ".join(f"{key} {statistics[key]}" for key in ("fps", "latency_p50_ms", "latency_p95_ms",
                                                               "frames_received", "frames_processed",
                                                               "frames_dropped", "bad_frames") if key in statistics)
        )
    # The node skips frames it cannot keep up with (newest-frame policy), so success is
    # "frames came back and each shows the faces", not "every frame came back".
    expected_faces = options.faces
    correct = sum(1 for message in listener.frames.values() if len(message.faces) == expected_faces)
    if received == 0:
        print("[demo] FAILED: no results came back", file=sys.stderr)
        return 1
    if correct < received:
        print(f"[demo] FAILED: {received - correct} frame(s) without exactly {expected_faces} face(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
