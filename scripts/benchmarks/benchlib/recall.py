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
Recall of the fast-detection options against full-resolution Haar at scaleFactor 1.1.

The reference is our own detector with ``detection.max_width = 0`` (full resolution) and
``scale_factor = 1.1``, every other parameter at its default, so each option differs from
it only in the speed-up under test. A face counts as kept when an option's box overlaps a
reference box with IoU >= MATCH_IOU (greedy one-to-one matching).
"""
from __future__ import annotations

from pathlib import Path
import time
from typing import Any, Iterable, Sequence

import cv2

from benchlib.common import FrameConfig, progress

MATCH_IOU = 0.3
REFERENCE = {"detection.max_width": 0, "detection.scale_factor": 1.1}
# Stateless detector options (work on single photos and on sequences).
DETECTOR_OPTIONS: dict[str, dict[str, Any]] = {
    "default": {},  # parameters.py defaults (max_width 480, scale_factor 1.1)
    "max_width 640": {"detection.max_width": 640},
    "max_width 320": {"detection.max_width": 320},
    "sf 1.2": {"detection.scale_factor": 1.2},
    "sf 1.3": {"detection.scale_factor": 1.3},
}
# Options that need a sequence (tracked regions between full detections): run the pipeline.
SEQUENCE_OPTIONS: dict[str, dict[str, Any]] = {
    "redetect 3": {"detection.redetect_interval": 3},
    "redetect 5": {"detection.redetect_interval": 5},
    # Waits for the background detection after each frame: recall when it keeps up.
    "background 3": {"detection.redetect_interval": 3, "detection.background": True},
}


class PaperDetector:
    """The seed paper demo's detector (no downscale, no equalisation, minSize 30), for reference."""

    class _Box:
        def __init__(self, box: Sequence[int]) -> None:
            self.box = tuple(int(v) for v in box)

    def __init__(self) -> None:
        from pathlib import Path as _Path

        self.cascade = cv2.CascadeClassifier(str(_Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))

    def detect(self, gray) -> list:
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
        return [self._Box(box) for box in boxes]


def stateless_detectors() -> dict[str, Any]:
    detectors: dict[str, Any] = {name: detector(overrides) for name, overrides in DETECTOR_OPTIONS.items()}
    detectors["paper demo det."] = PaperDetector()
    return detectors


def detector(overrides: dict[str, Any]):
    from face_perception.detection.haar import HaarFaceDetector
    from face_perception.parameters import PipelineConfig

    return HaarFaceDetector(PipelineConfig.from_mapping(overrides).detection)


def match_count(reference: Sequence[Sequence[float]], found: Sequence[Sequence[float]]) -> int:
    """Greedy one-to-one matches (best IoU first) with IoU >= MATCH_IOU."""
    from face_perception.detection.detection import box_iou

    pairs = sorted(((box_iou(r, f), i, j) for i, r in enumerate(reference) for j, f in enumerate(found)), reverse=True)
    used_r, used_f, matches = set(), set(), 0
    for iou, i, j in pairs:
        if iou < MATCH_IOU:
            break
        if i not in used_r and j not in used_f:
            used_r.add(i)
            used_f.add(j)
            matches += 1
    return matches


class Tally:
    """Reference faces, faces found, matched, and detection time for one option on one source."""

    def __init__(self) -> None:
        self.reference = self.found = self.matched = 0
        self.detect_ms: list[float] = []

    def add(self, reference: Sequence, found: Sequence, ms: float) -> None:
        self.reference += len(reference)
        self.found += len(found)
        self.matched += match_count(reference, found)
        self.detect_ms.append(ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "found": self.found, "matched": self.matched,
            "recall": self.matched / self.reference if self.reference else float("nan"),
            "extra": self.found - self.matched,
            "detect_ms_mean": sum(self.detect_ms) / len(self.detect_ms) if self.detect_ms else float("nan"),
        }


def _timed_boxes(det, gray) -> tuple[list, float]:
    start = time.perf_counter()
    boxes = [d.box for d in det.detect(gray)]
    return boxes, (time.perf_counter() - start) * 1000.0


def photo_sources(paths: Iterable[Path], camera_width: int = 640) -> list[tuple[str, Any]]:
    """Each photo as it is, and shrunk to ``camera_width`` (what a 640x480 camera would deliver)."""
    sources = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            progress(f"recall: cannot read {path}, skipped")
            continue
        sources.append((f"{path.name} {image.shape[1]}x{image.shape[0]}", image))
        if image.shape[1] > camera_width:
            height = round(image.shape[0] * camera_width / image.shape[1])
            small = cv2.resize(image, (camera_width, height), interpolation=cv2.INTER_AREA)
            sources.append((f"{path.name} {camera_width}x{height}", small))
    return sources


def photo_recall(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    reference_detector = detector(REFERENCE)
    options = stateless_detectors()
    results = {}
    for name, image in photo_sources(paths):
        progress(f"recall: {name}")
        reference, reference_ms = _timed_boxes(reference_detector, image)
        entry = {"size": f"{image.shape[1]}x{image.shape[0]}", "reference": len(reference),
                 "reference_detect_ms": reference_ms, "options": {}}
        for option, det in options.items():
            tally = Tally()
            tally.add(reference, *_timed_boxes(det, image))
            entry["options"][option] = tally.as_dict()
        results[name] = entry
    return results


def sequence_recall(configs: Sequence[FrameConfig], frames: int, emotion_model: str,
                    gender_model: str) -> dict[str, Any]:
    """Demo sequences: per frame, reference boxes vs each option; pipeline for redetect options."""
    from benchlib.ours import variant_config
    from face_perception.pipeline.pipeline import FacePerceptionPipeline
    from face_perception.ros.demo_frames import demo_frame

    reference_detector = detector(REFERENCE)
    results = {}
    for config in configs:
        progress(f"recall: demo sequence {config.label}, {frames} frames")
        options = stateless_detectors()
        pipelines = {name: FacePerceptionPipeline(variant_config(overrides, emotion_model, gender_model))
                     for name, overrides in SEQUENCE_OPTIONS.items()}
        tallies = {name: Tally() for name in [*options, *pipelines]}
        reference_total, reference_ms_total = 0, 0.0
        for index in range(frames):
            gray = cv2.cvtColor(demo_frame(index, config.width, config.height, config.faces), cv2.COLOR_BGR2GRAY)
            reference, reference_ms = _timed_boxes(reference_detector, gray)
            reference_total += len(reference)
            reference_ms_total += reference_ms
            for name, det in options.items():
                tallies[name].add(reference, *_timed_boxes(det, gray))
            for name, pipeline in pipelines.items():
                result = pipeline.process(gray)
                pipeline.wait_for_background_detection(10.0)
                tallies[name].add(reference, [f.box for f in result.faces], result.timings_ms["detect"])
        for pipeline in pipelines.values():
            pipeline.close()
        results[config.key] = {
            "label": config.label, "frames": frames, "faces_drawn": config.faces * frames,
            "reference_detect_ms": reference_ms_total / frames,
            "reference": reference_total, "options": {name: t.as_dict() for name, t in tallies.items()},
        }
    return results
