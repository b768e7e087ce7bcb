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
The graph across processes, as a robot runs it.

The graph across processes, as a robot runs it: a camera process, the perception node
started by ``face-perception-bringup``, and listener processes that count every message.

Used for the DDS transport table (``python scripts/benchmarks/benchmark.py --dds-table``) and the
cross-process soak (``--cross-soak-minutes``), both in docs/benchmark.md:

- the camera is ``image_source_node`` (the demo sequence, 640x480 ``bgr8``, stamped when
  published), either in a process of its own or started by bringup (``image_source:=demo``);
  it waits for the node's subscription and stops after a fixed number of frames, so the
  frames sent are known exactly;
- each listener process (``python scripts/benchmarks/benchlib/cross_process.py listen ...``) counts
  ``/faces/attributes`` (reliable and/or best-effort), ``/faces/annotated_image`` and the
  node's ``/diagnostics``, and writes its counts as a JSON line every few seconds;
- each process gets its own DDS environment: what the user's shell has is removed first
  (Fast DDS as it comes), then the setup's variables are added.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

if __package__ in (None, ""):  # run as a script (the listener processes)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.common import progress, REPO_ROOT  # noqa: E402

LARGE_IMAGES_PROFILE = REPO_ROOT / "config" / "fastdds_large_images.xml"
DDS_VARIABLES = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE", "FASTDDS_BUILTIN_TRANSPORTS",
                 "ROS_AUTOMATIC_DISCOVERY_RANGE", "RMW_IMPLEMENTATION")
PROFILE = {"FASTRTPS_DEFAULT_PROFILES_FILE": str(LARGE_IMAGES_PROFILE)}
LARGE_DATA = {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"}
IMAGE_TOPIC = "/camera/image_raw"
DIAGNOSTIC_KEYS = ("frames_received", "frames_processed", "frames_dropped", "frames_missed_estimate",
                   "frames_lost_ratio", "camera_info_received", "fps")


@dataclass(frozen=True)
class Listener:
    reliable_attributes: bool = False
    best_effort_attributes: bool = False
    viewer: bool = False


@dataclass(frozen=True)
class Setup:
    """One row: where the camera runs, each process's DDS variables, what listens."""

    name: str
    rate_hz: float
    frames: int
    camera_in_bringup: bool  # image_source:=demo (bringup's own process) vs a process of its own
    camera_env: dict[str, str] = field(default_factory=dict)
    bringup_env: dict[str, str] = field(default_factory=dict)
    bringup_args: tuple[str, ...] = ()
    listeners: tuple[Listener, ...] = (Listener(best_effort_attributes=True, viewer=True),)
    listener_env: dict[str, str] = field(default_factory=dict)
    sample_s: float = 5.0
    node_params: dict[str, Any] = field(default_factory=dict)  # e.g. {"detection": {"background": True}}


def base_environment(domain_id: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DDS_VARIABLES}
    env.update(ROS_DOMAIN_ID=str(domain_id), PYTHONUNBUFFERED="1")
    return env


def camera_params_file(setup: Setup, directory: Path) -> Path:
    """perception.yaml with the image source's rate and frame count of this setup."""
    import yaml

    params = yaml.safe_load((REPO_ROOT / "config" / "perception.yaml").read_text())
    source = params["image_source"]["ros__parameters"]
    source.update(source="demo", rate=float(setup.rate_hz), max_frames=int(setup.frames), wait_for_subscribers=True,
                  topic=IMAGE_TOPIC)
    node = params["face_perception"]["ros__parameters"]
    for key, value in setup.node_params.items():
        if isinstance(value, dict):
            node.setdefault(key, {}).update(value)
        else:
            node[key] = value
    path = directory / f"{setup.name}.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def run_setup(setup: Setup, log_dir: Path, domain_id: int, settle_s: float = 4.0) -> dict[str, Any]:
    """Run one setup to the camera's last frame (+ settle_s) and collect every count."""
    log_dir = log_dir.resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    base = base_environment(domain_id)
    params = camera_params_file(setup, log_dir)
    processes: list[tuple[str, subprocess.Popen, Any]] = []

    def start(name: str, command: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
        log = open(log_dir / f"{setup.name}.{name}.log", "w")
        process = subprocess.Popen(command, env={**base, **extra_env}, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=log_dir, start_new_session=True)
        processes.append((name, process, log))
        return process

    count_files = []
    started = time.monotonic()
    try:
        for index, listener in enumerate(setup.listeners):
            out = log_dir / f"{setup.name}.listener{index}.jsonl"
            out.unlink(missing_ok=True)
            count_files.append(out)
            flags = [flag for flag, on in (("--reliable-attributes", listener.reliable_attributes),
                                           ("--best-effort-attributes", listener.best_effort_attributes),
                                           ("--viewer", listener.viewer)) if on]
            start(f"listener{index}", [sys.executable, str(Path(__file__).resolve()), "listen", "--out", str(out),
                                       "--sample-s", str(setup.sample_s), *flags], setup.listener_env)
        bringup_args = [f"params_file:={params}", f"image_topic:={IMAGE_TOPIC}", *setup.bringup_args]
        if setup.camera_in_bringup:
            bringup_args.append("image_source:=demo")
        bringup = start("bringup", [sys.executable, "-m", "face_perception.bringup.bringup", *bringup_args],
                        setup.bringup_env)
        if not setup.camera_in_bringup:
            start("camera", [sys.executable, "-m", "face_perception.ros.image_source_node", "--ros-args",
                             "-r", "__node:=image_source", "--params-file", str(params)],
                  setup.camera_env)
        expected_s = setup.frames / setup.rate_hz
        deadline = time.monotonic() + expected_s + 120.0
        camera_log = log_dir / f"{setup.name}.{'bringup' if setup.camera_in_bringup else 'camera'}.log"
        while time.monotonic() < deadline:
            if "source finished after" in camera_log.read_text(errors="replace"):
                break
            if bringup.poll() is not None:
                raise RuntimeError(f"{setup.name}: bringup exited with {bringup.returncode}; see {log_dir}")
            time.sleep(0.5)
        else:
            raise RuntimeError(f"{setup.name}: the camera did not finish in time; see {camera_log}")
        time.sleep(settle_s)
    finally:
        for name, process, log in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for name, process, log in reversed(processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            log.close()
    listeners = [read_counts(path) for path in count_files]
    bringup_log = (log_dir / f"{setup.name}.bringup.log").read_text(errors="replace")
    transport = next((line.split("] ", 1)[1] for line in bringup_log.splitlines()
                      if line.startswith("[bringup] DDS transport")), "-")
    return {"name": setup.name, "rate_hz": setup.rate_hz, "frames_sent": setup.frames, "transport_line": transport,
            "camera_env": setup.camera_env, "bringup_env": setup.bringup_env, "bringup_args": list(setup.bringup_args),
            "listeners": listeners, "seconds": round(time.monotonic() - started, 1)}


def read_counts(path: Path) -> dict[str, Any]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    return {"final": lines[-1] if lines else {}, "samples": lines}


def table_setups() -> list[Setup]:
    """Return the rows of docs/benchmark.md's DDS transport table, measured again (and the switch turning ours off)."""
    off = ("dds_large_images:=false",)
    # docs/deployment.md, "Speed on a small CPU"
    small_cpu = {"detection": {"redetect_interval": 3, "background": True}}
    return [
        Setup("bringup_demo_10hz", 10.0, 300, camera_in_bringup=True),
        Setup("bringup_demo_10hz_off", 10.0, 300, camera_in_bringup=True, bringup_args=off),
        Setup("bringup_demo_10hz_profile_exported", 10.0, 300, camera_in_bringup=True, bringup_env=PROFILE,
              listener_env=PROFILE),
        Setup("bringup_demo_10hz_large_data", 10.0, 300, camera_in_bringup=True, bringup_env=LARGE_DATA,
              listener_env=LARGE_DATA),
        Setup("camera_process_15hz_default", 15.0, 375, camera_in_bringup=False),
        Setup("camera_process_15hz_default_off", 15.0, 375, camera_in_bringup=False, bringup_args=off),
        Setup("camera_process_15hz_camera_profile", 15.0, 375, camera_in_bringup=False, camera_env=PROFILE),
        Setup("bringup_demo_10hz_small_cpu", 10.0, 300, camera_in_bringup=True, node_params=small_cpu),
        Setup("camera_process_15hz_camera_profile_small_cpu", 15.0, 375, camera_in_bringup=False, camera_env=PROFILE,
              node_params=small_cpu),
    ]


def soak_setup(minutes: float, rate_hz: float) -> Setup:
    """
    Return the cross-process soak: a camera, the node and two listeners.

    Return the cross-process soak: a camera of its own with Fast DDS defaults (a driver whose
    environment lacks docs/deployment.md's line), the node as bringup starts it, one listener with a
    reliable /faces/attributes subscription and the annotated image (the pairing that
    stalled before), one with a best-effort subscription; listeners on Fast DDS defaults.
    """
    return Setup(f"soak_{minutes:g}min", rate_hz, int(round(minutes * 60 * rate_hz)), camera_in_bringup=False,
                 listeners=(Listener(reliable_attributes=True, viewer=True), Listener(best_effort_attributes=True)),
                 sample_s=30.0)


def summary_row(result: dict[str, Any]) -> dict[str, Any]:
    """Return the numbers of one setup: frames the node received, its loss values, levels seen."""
    finals = [listener["final"] for listener in result["listeners"]]
    diag = next((f for f in finals if f.get("last_values")), {})
    values = diag.get("last_values", {})
    row = {"setup": result["name"], "sent": result["frames_sent"], "transport": result["transport_line"],
           "received": values.get("frames_received"), "processed": values.get("frames_processed"),
           "missed_estimate": values.get("frames_missed_estimate"), "lost_ratio": values.get("frames_lost_ratio"),
           "camera_info": values.get("camera_info_received"), "levels": diag.get("levels", {}),
           "messages": diag.get("messages", [])}
    for final in finals:
        for key in ("attributes_reliable", "attributes_best_effort", "annotated_images"):
            if key in final:
                row[key] = final[key]
    return row


def print_rows(rows: list[dict[str, Any]]) -> None:
    print("| setup | sent | node received | processed | missed_estimate | lost ratio (last 5 s) | levels seen | "
          "viewer images | attributes (rel / be) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        levels = ", ".join(f"{k} {v}" for k, v in row["levels"].items())
        print(f"| {row['setup']} | {row['sent']} | {row['received']} | {row['processed']} | {row['missed_estimate']} "
              f"| {row['lost_ratio']} | {levels} | {row.get('annotated_images', '-')} | "
              f"{row.get('attributes_reliable', '-')} / {row.get('attributes_best_effort', '-')} |")
    for row in rows:
        print(f"{row['setup']}: {row['transport']}; WARN/ERROR messages: "
              + " | ".join(m for m in row["messages"] if m != "ok")[:600])


def run_table(log_dir: Path, names: list[str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for index, setup in enumerate(table_setups()):
        if names and setup.name not in names:
            continue
        progress(f"dds table: {setup.name} ({setup.frames} frames at {setup.rate_hz:g} Hz)")
        rows.append(summary_row(run_setup(setup, log_dir, domain_id=150 + index)))
    return rows


def run_soak(minutes: float, rate_hz: float, log_dir: Path) -> dict[str, Any]:
    setup = soak_setup(minutes, rate_hz)
    progress(f"cross-process soak: {setup.frames} frames at {rate_hz:g} Hz ({minutes:g} min)")
    result = run_setup(setup, log_dir, domain_id=170)
    result["summary"] = summary_row(result)
    return result


def print_soak(result: dict[str, Any]) -> None:
    print("time s | attributes reliable (listener 1) | annotated images (listener 1) | attributes best-effort "
          "(listener 2) | node frames_received / processed")
    first, second = (listener["samples"] for listener in result["listeners"])
    for a, b in zip(first, second):
        values = a.get("last_values", {})
        print(f"{a['t_s']:6.0f} | {a.get('attributes_reliable', 0)} | {a.get('annotated_images', 0)} | "
              f"{b.get('attributes_best_effort', 0)} | {values.get('frames_received')} / "
              f"{values.get('frames_processed')}")
    print_rows([result["summary"]])


def jpeg_cost() -> None:
    """Per-frame cost of use_compressed: JPEG encode (driver) and the node's decode, 640x480."""
    import statistics

    from builtin_interfaces.msg import Time
    import cv2
    from sensor_msgs.msg import CompressedImage

    from face_perception.ros.demo_frames import demo_frame
    from face_perception.ros.ros_messages import bgr_to_image_msg, compressed_msg_to_bgr, image_msg_to_bgr

    frames = [demo_frame(index, 640, 480, 1) for index in range(40)]

    def per_frame_ms(function, items) -> float:
        passes = []
        for _ in range(5):
            start = time.perf_counter()
            for item in items:
                function(item)
            passes.append((time.perf_counter() - start) / len(items) * 1000.0)
        return statistics.median(passes)

    for quality in (80, 90):
        options = [cv2.IMWRITE_JPEG_QUALITY, quality]
        jpegs = [cv2.imencode(".jpg", frame, options)[1].tobytes() for frame in frames]
        messages = [CompressedImage(format="jpeg", data=jpeg) for jpeg in jpegs]
        encode = per_frame_ms(lambda frame: cv2.imencode(".jpg", frame, options), frames)
        decode = per_frame_ms(compressed_msg_to_bgr, messages)
        print(f"JPEG quality {quality}: {sum(map(len, jpegs)) / len(jpegs) / 1024:.0f} KB, encode {encode:.2f} ms, "
              f"node decode {decode:.2f} ms per frame")
    raw = [bgr_to_image_msg(frame, Time(), "camera") for frame in frames]
    print(f"raw bgr8 Image to BGR in the node: {per_frame_ms(image_msg_to_bgr, raw):.2f} ms per frame")


# --- the listener process ------------------------------------------------------------------
def listen(options: argparse.Namespace) -> int:
    from diagnostic_msgs.msg import DiagnosticArray
    from face_perception_msgs.msg import FaceAttributesArray
    import rclpy
    from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    from rclpy.signals import SignalHandlerOptions

    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node(f"count_listener_{os.getpid()}")
    counts: dict[str, int] = {}
    state: dict[str, Any] = {"levels": {}, "messages": [], "last_values": {}, "last_level": None}

    def counter(key: str):
        counts[key] = 0

        def callback(_message) -> None:
            counts[key] += 1
        return callback

    def on_diagnostics(message: DiagnosticArray) -> None:
        for status in message.status:
            if "face perception" not in status.name:
                continue
            counts["diagnostics"] = counts.get("diagnostics", 0) + 1
            level = {0: "OK", 1: "WARN", 2: "ERROR"}.get(status.level[0] if isinstance(status.level, bytes)
                                                         else int(status.level), str(status.level))
            state["levels"][level] = state["levels"].get(level, 0) + 1
            state["last_level"] = level
            if status.message not in state["messages"] and len(state["messages"]) < 20:
                state["messages"].append(status.message)
            values = {kv.key: kv.value for kv in status.values}
            state["last_values"] = {key: values.get(key) for key in DIAGNOSTIC_KEYS}

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    best_effort = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    if options.reliable_attributes:
        node.create_subscription(FaceAttributesArray, "/faces/attributes", counter("attributes_reliable"), reliable)
    if options.best_effort_attributes:
        node.create_subscription(FaceAttributesArray, "/faces/attributes", counter("attributes_best_effort"),
                                 best_effort)
    if options.viewer:
        node.create_subscription(Image, "/faces/annotated_image", counter("annotated_images"), qos_profile_sensor_data)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    start = time.monotonic()
    next_sample = start

    def write() -> None:
        with open(options.out, "a") as out:
            out.write(json.dumps({"t_s": round(time.monotonic() - start, 1), **counts, **state}) + "\n")

    while not stopping:
        rclpy.spin_once(node, timeout_sec=0.1)
        if time.monotonic() >= next_sample:
            write()
            next_sample += options.sample_s
    write()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    listener = sub.add_parser("listen", help="count /faces/* and /diagnostics messages")
    listener.add_argument("--out", type=Path, required=True)
    listener.add_argument("--sample-s", type=float, default=5.0)
    listener.add_argument("--reliable-attributes", action="store_true")
    listener.add_argument("--best-effort-attributes", action="store_true")
    listener.add_argument("--viewer", action="store_true")
    table = sub.add_parser("table", help="docs/benchmark.md's DDS transport table, measured again")
    table.add_argument("--only", nargs="*", help="setup names")
    sub.add_parser("jpeg-cost", help="per-frame cost of use_compressed")
    soak = sub.add_parser("soak", help="the cross-process soak")
    soak.add_argument("--minutes", type=float, default=10.0)
    soak.add_argument("--rate", type=float, default=15.0)
    for command in (table, soak):
        command.add_argument("--json", type=Path)
        command.add_argument("--log-dir", type=Path, default=REPO_ROOT / "build" / "cross_process")
    options = parser.parse_args(argv)
    if options.command == "listen":
        return listen(options)
    if options.command == "jpeg-cost":
        jpeg_cost()
        return 0
    if options.command == "table":
        result: Any = run_table(options.log_dir, options.only)
        print_rows(result)
    else:
        result = run_soak(options.minutes, options.rate, options.log_dir)
        print_soak(result)
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
