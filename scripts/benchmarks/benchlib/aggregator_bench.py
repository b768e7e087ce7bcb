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
The REP-155 aggregator: what merging the cameras' face lists costs.

The real ``hri_aggregator_node`` runs as a subprocess; this process plays N cameras, each
publishing its hri_msgs/IdsList at 15 Hz on ``/camN/humans/faces/tracked`` (stamped when
published), and subscribes to those lists (the baseline: a consumer reading one camera's
list directly) and to the merged ``/humans/faces/tracked``. Per merged list: the latency
from the triggering camera list's stamp, against the direct lists' latency in the same run;
the aggregator's CPU and peak RSS. Staleness: one camera stops publishing, and the time until
a merged list without its faces arrives is measured (expected: source_timeout plus up to a
quarter of it, the expiry timer's period).
"""
from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys
import threading
import time
from typing import Any

from benchlib.common import percentile, progress, REPO_ROOT

RATE_HZ = 15.0
SOURCE_TIMEOUT_S = 1.0
FACES_PER_CAMERA = 3


def run_aggregator_benchmark(cameras: int, seconds: float, log_dir: Path) -> dict[str, Any]:
    from builtin_interfaces.msg import Time
    from hri_msgs.msg import IdsList
    import psutil
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from face_perception.ros.hri_output import STATE_QOS
    from face_perception.ros.node_main import stop_spinning

    topics = [f"/cam{index}/humans/faces/tracked" for index in range(cameras)]
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"hri_aggregator_{int(time.time() * 1000)}.log"
    command = [sys.executable, "-m", "face_perception.ros.hri_aggregator_node", "--ros-args",
               "-p", f"tracked_topics:={topics!r}".replace("'", '"'), "-p", f"source_timeout:={SOURCE_TIMEOUT_S}"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    rclpy.init()
    node = rclpy.create_node("aggregator_benchmark")
    lock = threading.Lock()
    direct: list[tuple[int, int]] = []  # (stamp ns, receipt ns)
    merged: list[tuple[int, int, tuple[str, ...]]] = []

    def now_ns() -> int:
        return node.get_clock().now().nanoseconds

    def stamp_of(message) -> int:
        return message.header.stamp.sec * 10**9 + message.header.stamp.nanosec

    def on_direct(message) -> None:
        with lock:
            direct.append((stamp_of(message), now_ns()))

    def on_merged(message) -> None:
        with lock:
            merged.append((stamp_of(message), now_ns(), tuple(message.ids)))

    publishers = [node.create_publisher(IdsList, topic, STATE_QOS) for topic in topics]
    for topic in topics:
        node.create_subscription(IdsList, topic, on_direct, STATE_QOS)
    merged_sub = node.create_subscription(IdsList, "/humans/faces/tracked", on_merged, STATE_QOS)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60.0
        while not (merged_sub.get_publisher_count() and all(p.get_subscription_count() >= 2 for p in publishers)):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"aggregator did not connect; log {log_path}:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        ids = [[f"cam{c}_run{n}" for n in range(FACES_PER_CAMERA)] for c in range(cameras)]
        last_published = [0] * cameras

        def publish(camera: int) -> None:
            now = now_ns()
            last_published[camera] = now
            message = IdsList(ids=ids[camera])
            message.header.stamp = Time(sec=now // 10**9, nanosec=now % 10**9)
            publishers[camera].publish(message)

        def play(duration: float, active: list[int]) -> None:
            period = 1.0 / RATE_HZ
            start = time.perf_counter()
            tick = 0
            while time.perf_counter() - start < duration:
                delay = start + tick * period - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                for camera in active:  # cameras spread over the period, as unsynchronised cameras are
                    publish(camera)
                    time.sleep(period / (2 * len(active)))
                tick += 1

        play(1.0, list(range(cameras)))  # warm-up
        time.sleep(0.3)
        with lock:
            direct.clear()
            merged.clear()
        proc = psutil.Process(process.pid)
        cpu_before = sum(proc.cpu_times()[:2])
        wall_before = time.perf_counter()
        play(seconds, list(range(cameras)))
        time.sleep(0.3)
        cpu_cores = (sum(proc.cpu_times()[:2]) - cpu_before) / (time.perf_counter() - wall_before)
        with lock:
            direct_ms = [(r - s) / 1e6 for s, r in direct]
            merged_ms = [(r - s) / 1e6 for s, r, _ids in merged]
            complete = sum(1 for *_x, got in merged if len(got) == cameras * FACES_PER_CAMERA)
            merged_count, direct_count = len(merged), len(direct)
        # Staleness: the last camera goes silent; when do its faces leave the merged list?
        silent = cameras - 1
        stopped_at = last_published[silent]  # its last list
        others = threading.Thread(target=play, args=(SOURCE_TIMEOUT_S * 2.5, list(range(silent))), daemon=True)
        others.start()
        gone_after_ms = float("nan")
        deadline = time.monotonic() + SOURCE_TIMEOUT_S * 2.5
        while time.monotonic() < deadline:
            with lock:
                later = [(r, got) for _s, r, got in merged if r > stopped_at]
            gone = [r for r, got in later if not any(i.startswith(f"cam{silent}_") for i in got)]
            if gone:
                gone_after_ms = (gone[0] - stopped_at) / 1e6
                break
            time.sleep(0.01)
        others.join()
        rss_mb = proc.memory_info().rss / 2**20
    finally:
        if process.poll() is None:
            process.send_signal(subprocess.signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        stop_spinning(executor, spinner, [node])
        rclpy.shutdown()
    progress(f"aggregator: {cameras} cameras, {merged_count} merged lists, CPU {cpu_cores:.3f} cores")
    return {
        "cameras": cameras, "rate_hz": RATE_HZ, "seconds": seconds, "source_timeout_s": SOURCE_TIMEOUT_S,
        "published_per_camera": direct_count // cameras, "merged_lists": merged_count,
        "merged_complete": complete,
        "direct_p50_ms": percentile(direct_ms, 50), "direct_p95_ms": percentile(direct_ms, 95),
        "merged_p50_ms": percentile(merged_ms, 50), "merged_p95_ms": percentile(merged_ms, 95),
        "aggregator_cpu_cores": cpu_cores, "aggregator_rss_mb": rss_mb,
        "silent_camera_gone_after_ms": gone_after_ms, "log": str(log_path),
    }


def print_aggregator(results: list[dict[str, Any]]) -> None:
    print("\n== REP-155 aggregator: cameras' lists at 15 Hz each -> /humans/faces/tracked ==")
    header = ("merged", "complete", "direct p50", "merged p50", "ratio", "merged p95", "CPU", "RSS MB", "stale ms")
    print(f"{'cameras':>8s}" + "".join(f"{h:>12s}" for h in header))
    for r in results:
        ratio = r["merged_p50_ms"] / r["direct_p50_ms"] if r["direct_p50_ms"] else float("nan")
        print(f"{r['cameras']:>8d}{r['merged_lists']:>12d}{r['merged_complete']:>12d}{r['direct_p50_ms']:>12.2f}"
              f"{r['merged_p50_ms']:>12.2f}{ratio:>12.2f}{r['merged_p95_ms']:>12.2f}{r['aggregator_cpu_cores']:>12.3f}"
              f"{r['aggregator_rss_mb']:>12.0f}{r['silent_camera_gone_after_ms']:>12.0f}")
    print("   latency (ms) = receipt - the camera list's stamp; direct = a camera's own list (baseline, same run);"
          " ratio = merged / direct p50;\n   complete = merged lists holding every camera's faces; CPU = cores the"
          f" aggregator used; stale = ms from a camera's last list until\n   a merged list without its faces"
          f" (source_timeout {SOURCE_TIMEOUT_S:g} s)")
