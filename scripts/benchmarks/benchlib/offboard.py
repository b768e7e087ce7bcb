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
The node on another computer, measured on this machine over loopback.

1. Codec cost per frame (this process, no DDS): what ``use_compressed`` costs the node (the
   JPEG decode in ``ros_messages.compressed_msg_to_bgr``) and the camera side (the encode),
   against the raw path's conversion (``ros_messages.image_msg_to_bgr``), with the bytes
   each frame puts on the wire.
2. The ROS graph at 15 Hz (benchlib.ros_graph: this process publishes, the perception node
   is a subprocess): raw ``sensor_msgs/Image`` and JPEG ``CompressedImage`` input, first with
   the on-board transport (shared memory, ``config/fastdds_local_only.xml``), then with a
   profile that has UDP on loopback only, no shared memory: every byte goes through the
   network stack as it would between two computers (without a real link's bandwidth limit
   and losses, so the real numbers can only be worse). Frames that arrive = the node's own
   ``frames_received`` count; latency = /faces/attributes receipt minus the image stamp,
   which is set before the JPEG encode, so the encode is part of it.
"""
from __future__ import annotations

from pathlib import Path
import time
from typing import Any

from benchlib.common import frame_message, FrameConfig, percentile

OFFBOARD_RATE_HZ = 15.0
OFFBOARD_SIZES = ((640, 480), (1280, 720))
OFFBOARD_FACES = 1
ROS_JPEG_QUALITY = 80
CODEC_QUALITIES = (80, 95)

UDP_LOOPBACK_PROFILE = """<?xml version="1.0" encoding="UTF-8" ?>
<!-- benchmark only: UDP on loopback, no shared memory, as between two computers -->
<profiles xmlns="http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles">
  <transport_descriptors>
    <transport_descriptor>
      <transport_id>udp_loopback</transport_id>
      <type>UDPv4</type>
      <interfaceWhiteList><address>127.0.0.1</address></interfaceWhiteList>
    </transport_descriptor>
  </transport_descriptors>
  <participant profile_name="offboard_udp_loopback" is_default_profile="true">
    <rtps>
      <userTransports><transport_id>udp_loopback</transport_id></userTransports>
      <useBuiltinTransports>false</useBuiltinTransports>
    </rtps>
  </participant>
</profiles>
"""


def write_udp_loopback_profile(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fastdds_udp_loopback_only.xml"
    path.write_text(UDP_LOOPBACK_PROFILE)
    return path


def codec_costs(frames: int, quick: bool) -> dict[str, Any]:
    """Measure ms per frame of raw conversion, JPEG encode and decode, and bytes per frame."""
    from benchlib.ros_graph import jpeg_message
    from face_perception.ros import ros_messages

    results: dict[str, Any] = {}
    repeats = 1 if quick else 3
    for width, height in OFFBOARD_SIZES:
        config = FrameConfig(width, height, OFFBOARD_FACES)
        messages = [frame_message(config, index) for index in range(frames)]
        raw_ms = _time_each(lambda m: ros_messages.image_msg_to_bgr(m), messages, repeats)
        entry: dict[str, Any] = {"raw_bytes": len(messages[0].data), "raw_convert_ms": raw_ms}
        for quality in CODEC_QUALITIES:
            encoded = [jpeg_message(m, quality) for m in messages]
            entry[f"q{quality}"] = {
                "encode_ms": _time_each(lambda m: jpeg_message(m, quality), messages, repeats),
                "decode_ms": _time_each(lambda m: ros_messages.compressed_msg_to_bgr(m), encoded, repeats),
                "bytes_mean": sum(len(m.data) for m in encoded) / len(encoded),
            }
        results[f"{width}x{height}"] = entry
    return results


def _time_each(call, items: list, repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        for item in items:
            start = time.perf_counter()
            call(item)
            times.append((time.perf_counter() - start) * 1000.0)
    return {"p50": percentile(times, 50), "mean": sum(times) / len(times)}


def offboard_runs(seconds: float) -> list:
    from benchlib.ros_graph import RosRun

    runs = []
    for width, height in OFFBOARD_SIZES:
        config = FrameConfig(width, height, OFFBOARD_FACES)
        runs.append(RosRun("15Hz raw", config, OFFBOARD_RATE_HZ, seconds))
        runs.append(RosRun(f"15Hz jpeg q{ROS_JPEG_QUALITY}", config, OFFBOARD_RATE_HZ, seconds,
                           (("use_compressed", True),), jpeg_quality=ROS_JPEG_QUALITY))
    return runs


def print_offboard(report: dict[str, Any]) -> None:
    print("\n== Off-board input: codec cost per frame (this process; demo frames, 1 face) ==")
    print(f"{'frame':>10s}{'raw bytes':>11s}{'raw conv':>10s}" + "".join(
        f"{'q' + str(q) + ' bytes':>11s}{'enc ms':>8s}{'dec ms':>8s}{'dec/raw':>9s}" for q in CODEC_QUALITIES))
    for size, entry in report["codec"].items():
        raw = entry["raw_convert_ms"]["p50"]
        line = f"{size:>10s}{entry['raw_bytes']:>11d}{raw:>10.2f}"
        for quality in CODEC_QUALITIES:
            q = entry[f"q{quality}"]
            line += (f"{q['bytes_mean']:>11.0f}{q['encode_ms']['p50']:>8.2f}{q['decode_ms']['p50']:>8.2f}"
                     f"{q['decode_ms']['p50'] / raw if raw else float('nan'):>9.1f}")
        print(line)
    print("   p50 ms per frame; raw conv = the node's sensor_msgs/Image -> numpy; enc = cv2.imencode (camera side);"
          " dec = the node's\n   use_compressed decode; dec/raw = decode time / raw conversion time (same run)")
    if not report["runs"]:
        return
    print(f"\n== Off-board input: ROS graph at {OFFBOARD_RATE_HZ:g} Hz"
          " (latency = /faces/attributes receipt - image stamp)"
          " ==")
    header = ("arrived", "outputs", "p50 ms", "p95 ms", "+p50 ms", "node CPU")
    print(f"{'transport':14s}{'input':16s}{'frames':>10s}" + "".join(f"{h:>10s}" for h in header))
    runs = report["runs"]
    baseline = {r["frame_config"]: r for r in runs if r["dds"] == "shm" and not r["jpeg_quality"]}
    for run in runs:
        base = baseline.get(run["frame_config"])
        added = run["latency_p50_ms"] - base["latency_p50_ms"] if base else float("nan")
        arrived = f"{run['node_received']}/{run['published']}" if run["node_received"] is not None else "?"
        print(f"{run['dds']:14s}{run['name']:16s}{run['label'].split()[0]:>10s}{arrived:>10s}"
              f"{str(run['outputs']) + '/' + str(run['published']):>10s}{run['latency_p50_ms']:>10.1f}"
              f"{run['latency_p95_ms']:>10.1f}{added:>10.1f}{run['node_cpu_cores']:>10.2f}")
    print("   arrived = frames the node received (its /diagnostics) / published; +p50 = p50 latency minus the"
          " on-board raw run's\n   at the same frame size (same run). shm = on-board (shared memory); udp-loopback ="
          " UDP only, over 127.0.0.1")


# --- transport alone: sender (a benchmark worker) -> receiver (its subprocess) -------------------
TRANSPORT_TOPIC = "/offboard_benchmark/image_raw"


def transport_worker(seconds: float, log_dir: Path) -> dict[str, Any]:
    """
    Send frames at 15 Hz to a receiver process and measure what arrives and its latency.

    Frames at 15 Hz to a receiver process that does what the node does before its pipeline
    (raw: the numpy conversion; use_compressed: the JPEG decode): frames that arrive, and the
    latency from the stamp (set before the encode) to a decoded frame, per input and size.
    """
    import json
    import signal
    import subprocess
    import sys

    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image

    from benchlib.ros_graph import jpeg_message

    log_dir.mkdir(parents=True, exist_ok=True)
    out = log_dir / f"offboard_receiver_{int(time.time() * 1000)}.json"
    rclpy.init()
    node = rclpy.create_node("offboard_sender")
    raw_pub = node.create_publisher(Image, TRANSPORT_TOPIC, qos_profile_sensor_data)
    jpeg_pub = node.create_publisher(CompressedImage, TRANSPORT_TOPIC + "/compressed", qos_profile_sensor_data)
    scripts = str(Path(__file__).resolve().parents[1])  # where benchlib is, for the receiver
    receiver = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; "
                                 f"sys.path.insert(0, {scripts!r}); from benchlib.offboard import receiver_main; "
                                 f"sys.exit(receiver_main(Path({str(out)!r})))"])
    runs: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 60.0
        while raw_pub.get_subscription_count() == 0 or jpeg_pub.get_subscription_count() == 0:
            if time.monotonic() > deadline or receiver.poll() is not None:
                raise RuntimeError("the off-board receiver did not connect")
            time.sleep(0.05)
        time.sleep(0.5)
        for width, height in OFFBOARD_SIZES:
            config = FrameConfig(width, height, OFFBOARD_FACES)
            frames = [frame_message(config, index) for index in range(20)]
            for quality in (0, ROS_JPEG_QUALITY):
                stamps = _publish_at(node, raw_pub, jpeg_pub, frames, int(seconds * OFFBOARD_RATE_HZ), quality,
                                     jpeg_message)
                runs.append({"frame_config": f"{width}x{height}", "input": f"jpeg q{quality}" if quality else "raw",
                             "stamps": stamps})
                time.sleep(1.0)  # let the last frames arrive before the next run
    finally:
        receiver.send_signal(signal.SIGINT)
        try:
            receiver.wait(timeout=15)
        except subprocess.TimeoutExpired:
            receiver.kill()
            receiver.wait()
        node.destroy_node()
        rclpy.shutdown()
    received = {int(stamp): entry for stamp, entry in json.loads(out.read_text()).items()}
    results = []
    for run in runs:
        got = [received[s] for s in run["stamps"] if s in received]
        latency = [(entry["ready_ns"] - stamp) / 1e6 for stamp, entry in
                   ((s, received[s]) for s in run["stamps"] if s in received)]
        results.append({**{k: v for k, v in run.items() if k != "stamps"}, "published": len(run["stamps"]),
                        "arrived": len(got), "latency_p50_ms": percentile(latency, 50),
                        "latency_p95_ms": percentile(latency, 95),
                        "decode_p50_ms": percentile([e["decode_ms"] for e in got], 50)})
    return {"transport": results}


def _publish_at(node, raw_pub, jpeg_pub, frames: list, count: int, quality: int, encode) -> list[int]:
    from builtin_interfaces.msg import Time

    stamps, period, start = [], 1.0 / OFFBOARD_RATE_HZ, time.perf_counter()
    for index in range(count):
        delay = start + index * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        message = frames[index % len(frames)]
        now = node.get_clock().now().nanoseconds
        message.header.stamp = Time(sec=now // 10**9, nanosec=now % 10**9)
        if quality:
            jpeg_pub.publish(encode(message, quality))  # encoded after the stamp, as on a camera
        else:
            raw_pub.publish(message)
        stamps.append(now)
    return stamps


def receiver_main(out: Path) -> int:
    """Return the receiving computer: each frame made ready for the pipeline as the node does."""
    import json

    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image

    from face_perception.ros import ros_messages

    received: dict[int, dict[str, float]] = {}

    def on_frame(message) -> None:
        start = time.perf_counter()
        if isinstance(message, CompressedImage):
            ros_messages.compressed_msg_to_bgr(message)
        else:
            ros_messages.image_msg_to_bgr(message)
        decode_ms = (time.perf_counter() - start) * 1000.0
        stamp = message.header.stamp.sec * 10**9 + message.header.stamp.nanosec
        received[stamp] = {"ready_ns": node.get_clock().now().nanoseconds, "decode_ms": decode_ms}

    rclpy.init()
    node = rclpy.create_node("offboard_receiver")
    node.create_subscription(Image, TRANSPORT_TOPIC, on_frame, qos_profile_sensor_data)
    node.create_subscription(CompressedImage, TRANSPORT_TOPIC + "/compressed", on_frame, qos_profile_sensor_data)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        out.write_text(json.dumps({str(k): v for k, v in received.items()}))
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def print_transport(report: dict[str, Any]) -> None:
    print(f"\n== Off-board input: transport alone at {OFFBOARD_RATE_HZ:g} Hz, sender -> receiver process"
          " (latency = frame ready for the pipeline - stamp) ==")
    header = ("arrived", "p50 ms", "p95 ms", "ratio p50", "decode ms")
    print(f"{'transport':14s}{'input':10s}{'frames':>10s}" + "".join(f"{h:>11s}" for h in header))
    rows = [dict(r, dds=name) for name, result in report["transport"].items() for r in result["transport"]]
    baseline = {r["frame_config"]: r for r in rows if r["dds"] == "shm" and r["input"] == "raw"}
    for row in rows:
        base = baseline.get(row["frame_config"])
        ratio = row["latency_p50_ms"] / base["latency_p50_ms"] if base and base["latency_p50_ms"] else float("nan")
        print(f"{row['dds']:14s}{row['input']:10s}{row['frame_config']:>10s}"
              f"{str(row['arrived']) + '/' + str(row['published']):>11s}{row['latency_p50_ms']:>11.1f}"
              f"{row['latency_p95_ms']:>11.1f}{ratio:>11.1f}{row['decode_p50_ms']:>11.2f}")
    print("   ratio p50 = p50 latency / the shared-memory raw run's at the same size (same run); JPEG latency"
          " includes the encode\n   (after the stamp) and the decode")
