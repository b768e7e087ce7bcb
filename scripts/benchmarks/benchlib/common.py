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

"""Frames, statistics and the publish stage shared by the baseline and our pipeline."""
from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
import resource
import sys
from typing import Iterable, Sequence

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[3]
if str(REPO_ROOT) not in sys.path:  # run from a checkout without an editable install
    sys.path.insert(0, str(REPO_ROOT))

SHARED_ANCHOR_DIR = REPO_ROOT.parent / "shared" / "anchor"
FRAME_SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720))
FACE_COUNTS: tuple[int, ...] = (1, 3, 8)
# Stages in table order; "track" exists only on our side (0 for the baseline).
STAGES: tuple[str, ...] = ("convert", "detect", "crop", "classify", "track", "publish")


@dataclass(frozen=True)
class FrameConfig:
    width: int
    height: int
    faces: int

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height} {self.faces} face{'s' if self.faces != 1 else ''}"

    @property
    def key(self) -> str:
        return f"{self.width}x{self.height}_{self.faces}f"


def frame_configs(sizes: Iterable[tuple[int, int]] = FRAME_SIZES,
                  faces: Iterable[int] = FACE_COUNTS) -> list[FrameConfig]:
    return [FrameConfig(w, h, n) for (w, h) in sizes for n in faces]


def frame_message(config: FrameConfig, index: int):
    """
    Frame ``index`` of the demo sequence as a real sensor_msgs/Image (bgr8).

    Built on demand, one at a time, so stored frames never inflate the measured RSS.
    """
    from builtin_interfaces.msg import Time

    from face_perception.ros.demo_frames import demo_frame
    from face_perception.ros.ros_messages import bgr_to_image_msg

    bgr = demo_frame(index, config.width, config.height, config.faces)
    return bgr_to_image_msg(bgr, Time(sec=index, nanosec=0), "camera_optical_frame")


def publish_stage(faces: Sequence, bgr: np.ndarray, header, draw: bool) -> int:
    """
    Mirror what the node does after the pipeline: build and serialise its output messages.

    Returns the serialised bytes (so the work cannot be optimised away). ``draw`` adds the
    annotated image, which the node builds only when /faces/annotated_image has a subscriber.
    """
    from rclpy.serialization import serialize_message

    from face_perception.ros import ros_messages
    from face_perception.ros.annotation import draw_annotations

    messages = [
        ros_messages.face_attributes_array(faces, header),
        ros_messages.detection_array(faces, header),
    ]
    if draw:
        messages.append(ros_messages.image_msg_with_header(draw_annotations(bgr, faces), header))
    return sum(len(serialize_message(message)) for message in messages)


def percentile(values: Sequence[float], q: float) -> float:
    if not len(values):
        return math.nan
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def summarize(records: list[dict[str, float]]) -> dict[str, float]:
    """Mean stage ms, end-to-end mean/p50/p95, fps (1000 / mean) and per-face classification."""
    if not records:
        return {}
    totals = [r["total"] for r in records]
    faces = sum(r["faces"] for r in records)
    summary = {f"{stage}_ms": float(np.mean([r.get(stage, 0.0) for r in records])) for stage in STAGES}
    summary.update(
        frames=len(records),
        faces_mean=faces / len(records),
        total_mean_ms=float(np.mean(totals)),
        total_p50_ms=percentile(totals, 50),
        total_p95_ms=percentile(totals, 95),
        fps=1000.0 / float(np.mean(totals)),
        # Frames without a face add classification time (if any) but no face.
        classify_per_face_ms=sum(r["classify"] for r in records) / faces if faces else math.nan,
    )
    return summary


def peak_rss_mb() -> float:
    """Return this process's peak resident set size (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def progress(text: str) -> None:
    # Progress goes to stderr so stdout stays the report.
    print(f"[benchmark] {text}", file=sys.stderr, flush=True)
