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
Detection cost per frame on one core: every backend, full frames and the redetect schedule.

On 640x480 demo frames with 1 and 6 faces (and 1280x720 with 3), interleaved frame by frame so
machine load hits every variant alike, each variant runs what the pipeline's detect stage
runs: a full detection every ``redetect_interval`` frames and, in between, region search
around the faces it found last. Per frame it records the wall time and the CPU time of this
thread (OpenCV's and LiteRT's inference run in it with one thread), and prints medians and
p95 with ratios to BlazeFace and Haar from the same run. The CPU time is what a core left to
the detector would take; the wall time is what this machine gave it under its current load.

With ``--onnxruntime`` (needs the onnxruntime package, not a project dependency) YuNet's
model also runs in onnxruntime on one thread, on the 640x480 frame padded to the model's
fixed 640x640 input (inference only, no decoding): the runtime comparison.

Usage: taskset -c 0 python scripts/benchmarks/benchmark_detection_speed.py [--frames 60] [--onnxruntime]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys
import time
from typing import Any, Callable

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

VARIANTS: dict[str, dict[str, Any]] = {
    "haar": {},
    "blazeface": {"detection.backend": "blazeface"},
    "yunet": {"detection.backend": "yunet"},
    "yunet redetect 2": {"detection.backend": "yunet", "detection.redetect_interval": 2},
    "yunet redetect 3": {"detection.backend": "yunet", "detection.redetect_interval": 3},
    "yunet max_width 320": {"detection.backend": "yunet", "detection.yunet_max_width": 320},
}
FRAMES = (((640, 480), 1), ((640, 480), 6), ((1280, 720), 3))


class Scheduled:
    """One variant's detector on the pipeline's schedule: full every N frames, regions between."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        from face_perception.detection.detectors import create_detector
        from face_perception.parameters import PipelineConfig

        config = PipelineConfig.from_mapping(overrides).detection
        self.detector = create_detector(config)
        self.interval = config.redetect_interval
        self.boxes: list = []
        self.index = 0

    def __call__(self, frame: np.ndarray) -> int:
        prepared = self.detector.prepare(frame)
        full = self.index % self.interval == 0 or not self.boxes
        found = self.detector.detect_prepared(prepared, None if full else self.boxes)
        self.boxes = [d.box for d in found] or self.boxes
        self.index += 1
        return len(found)


def onnxruntime_runner() -> Callable[[np.ndarray], int]:
    import onnxruntime

    from face_perception.detection.yunet import shipped_model_path

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(shipped_model_path()), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    side = int(session.get_inputs()[0].shape[2])

    def run(frame: np.ndarray) -> int:
        padded = np.zeros((side, side, 3), np.float32)
        height, width = min(side, frame.shape[0]), min(side, frame.shape[1])
        padded[:height, :width] = frame[:height, :width]
        session.run(None, {name: padded.transpose(2, 0, 1)[None]})
        return 0

    return run


def measure(runners: dict[str, Callable[[np.ndarray], int]], size: tuple[int, int], faces: int,
            frames: int) -> dict[str, dict[str, float]]:
    from face_perception.ros.demo_frames import demo_frame

    wall: dict[str, list[float]] = {name: [] for name in runners}
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    found: dict[str, list[int]] = {name: [] for name in runners}
    for index in range(frames + 3):
        frame = demo_frame(index, size[0], size[1], faces)
        for name, run in runners.items():
            start_wall, start_cpu = time.perf_counter(), time.thread_time()
            count = run(frame)
            if index >= 3:  # warm-up frames not counted
                cpu[name].append((time.thread_time() - start_cpu) * 1000.0)
                wall[name].append((time.perf_counter() - start_wall) * 1000.0)
                found[name].append(count)
    return {name: {"cpu_median": float(np.median(cpu[name])), "cpu_p95": float(np.percentile(cpu[name], 95)),
                   "wall_median": float(np.median(wall[name])), "wall_p95": float(np.percentile(wall[name], 95)),
                   "faces_median": float(np.median(found[name]))} for name in runners}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="measured frames per frame kind (default 60)")
    parser.add_argument("--onnxruntime", action="store_true", help="also YuNet's model in onnxruntime (if installed)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; affinity {sorted(os.sched_getaffinity(0))}")
    for size, faces in FRAMES:
        runners: dict[str, Callable[[np.ndarray], int]] = {name: Scheduled(o) for name, o in VARIANTS.items()}
        if args.onnxruntime and size == (640, 480):
            runners["yunet onnxruntime 640x640 (inference only)"] = onnxruntime_runner()
        result = measure(runners, size, faces, args.frames)
        print(f"\n== {size[0]}x{size[1]}, {faces} face(s), {args.frames} frames: ms per frame, CPU time (this thread) "
              "and wall time; ratios of the CPU median to haar's and blazeface's ==")
        print(f"{'variant':44s}{'CPU median':>11s}{'CPU p95':>9s}{'wall median':>13s}{'wall p95':>10s}"
              f"{'/haar':>7s}{'/blazeface':>11s}{'faces':>7s}")
        for name, r in result.items():
            print(f"{name:44s}{r['cpu_median']:11.1f}{r['cpu_p95']:9.1f}{r['wall_median']:13.1f}{r['wall_p95']:10.1f}"
                  f"{r['cpu_median'] / result['haar']['cpu_median']:7.2f}"
                  f"{r['cpu_median'] / result['blazeface']['cpu_median']:11.2f}{r['faces_median']:7.0f}")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
