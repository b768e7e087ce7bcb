"""The node on another computer (issue 19), measured on this machine over loopback.

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

import time
from pathlib import Path
from typing import Any

from benchlib.common import FrameConfig, frame_message, percentile

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
    """ms per frame of raw conversion, JPEG encode and decode, and bytes per frame."""
    from face_perception import ros_messages

    from benchlib.ros_graph import jpeg_message

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
    print(f"\n== Off-board input: ROS graph at {OFFBOARD_RATE_HZ:g} Hz (latency = /faces/attributes receipt - image stamp)"
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
