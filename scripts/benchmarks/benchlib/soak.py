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
Soak run: the perception node (a subprocess) fed a steady camera stream for many minutes.

Every ``sample_s`` seconds: the node's RSS and the inputs published / outputs received so
far. Per minute: inputs, outputs and the latency p50/p95 of that minute's frames. Memory
that keeps growing, outputs falling behind inputs, or a latency that drifts up show here.
"""
from __future__ import annotations

from pathlib import Path
import time
from typing import Any

from benchlib.common import frame_message, FrameConfig, percentile, progress
from benchlib.ros_graph import DISTINCT_FRAMES, Driver, start_node


def run_soak(minutes: float, rate_hz: float, config: FrameConfig, sample_s: float,
             params: dict[str, Any], log_dir: Path) -> dict[str, Any]:
    import psutil
    import rclpy

    rclpy.init()
    driver = Driver()
    node = start_node(params, log_dir)
    samples: list[dict[str, float]] = []
    stamps: list[tuple[float, int]] = []  # (seconds since start, stamp ns)
    try:
        driver.wait_connected(node, timeout=90.0)
        frames = [frame_message(config, index) for index in range(DISTINCT_FRAMES)]
        warm = driver.publish_sequence(frames, 20, rate_hz)
        driver.wait_for_outputs(warm, settle=1.0)
        with driver.lock:
            warm_outputs = len(driver.received)
        node_process = psutil.Process(node.process.pid)
        period, duration = 1.0 / rate_hz, minutes * 60.0
        start = time.perf_counter()
        next_sample = 0.0
        index = 0
        progress(f"soak: {config.label} at {rate_hz:g} Hz for {minutes:g} min, RSS every {sample_s:g} s")
        while True:
            elapsed = time.perf_counter() - start
            if elapsed >= next_sample:
                with driver.lock:
                    outputs = len(driver.received) - warm_outputs
                sample = {"t_s": round(elapsed, 1), "rss_mb": node_process.memory_info().rss / 2**20,
                          "inputs": index, "outputs": outputs}
                samples.append(sample)
                progress(f"soak: {sample['t_s']:.0f} s  RSS {sample['rss_mb']:.1f} MB  "
                         f"inputs {index}  outputs {outputs}")
                next_sample += sample_s
            if elapsed >= duration:
                break
            delay = start + index * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            now = driver.publish_stamped(frames[index % len(frames)])
            stamps.append((time.perf_counter() - start, now))
            index += 1
        driver.wait_for_outputs([stamp for _t, stamp in stamps], settle=2.0)
        diagnostics = driver.diagnostics_after(driver.diagnostics_count, timeout=3.0)
    finally:
        node.stop()
        driver.destroy()
        rclpy.shutdown()
    return {"minutes": minutes, "rate_hz": rate_hz, "frame_config": config.key, "label": config.label,
            "samples": samples, "per_minute": per_minute(stamps, driver.received),
            "published": len(stamps), "outputs": sum(1 for _t, s in stamps if s in driver.received),
            "node_diagnostics": diagnostics, "node_peak_rss_mb": node.high_water_mark_mb(), "log": str(node.log_path)}


def per_minute(stamps: list[tuple[float, int]], received: dict[int, tuple[int, int]]) -> list[dict[str, Any]]:
    """Return the inputs, outputs and latency p50/p95 of the frames published in each minute."""
    minutes: dict[int, list[tuple[int, tuple[int, int] | None]]] = {}
    for elapsed, stamp in stamps:
        minutes.setdefault(int(elapsed // 60), []).append((stamp, received.get(stamp)))
    rows = []
    for minute, frames in sorted(minutes.items()):
        latencies = [(output[0] - stamp) / 1e6 for stamp, output in frames if output is not None]
        rows.append({"minute": minute + 1, "inputs": len(frames), "outputs": len(latencies),
                     "latency_p50_ms": percentile(latencies, 50), "latency_p95_ms": percentile(latencies, 95)})
    return rows


def print_soak(result: dict[str, Any]) -> None:
    print(f"\n== Soak: {result['label']} at {result['rate_hz']:g} Hz for {result['minutes']:g} min "
          f"(node peak RSS {result['node_peak_rss_mb']:.1f} MB)")
    print("time s   RSS MB   inputs   outputs")
    for sample in result["samples"]:
        print(f"{sample['t_s']:6.0f}  {sample['rss_mb']:7.1f}  {sample['inputs']:7d}  {sample['outputs']:8d}")
    print("minute  inputs  outputs  p50 ms  p95 ms")
    for row in result["per_minute"]:
        print(f"{row['minute']:6d}  {row['inputs']:6d}  {row['outputs']:7d}  {row['latency_p50_ms']:6.1f}  "
              f"{row['latency_p95_ms']:6.1f}")
    keys = ("frames_received", "frames_processed", "frames_dropped", "frames_missed_estimate", "bad_frames")
    diagnostics = result["node_diagnostics"]
    print(f"total: {result['published']} inputs, {result['outputs']} outputs; node diagnostics: "
          + ", ".join(f"{key} {diagnostics.get(key, '-')}" for key in keys))
