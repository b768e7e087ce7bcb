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
Detection backends compared: accuracy on labelled sets and time per frame.

Every backend variant sees the same frames, interleaved frame by frame (so machine load hits
all alike); ratios to Haar at the defaults come from the same run. A face counts as found
when a detection overlaps its labelled box with IoU >= 0.5 (greedy one-to-one matching).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchlib.common import progress
from benchlib.detection_set import (
    anchor_photo,
    face_free_frames,
    match,
    size_bin,
    SIZE_BINS,
    synthetic_frames,
)

MATCH_IOU = 0.5
# name -> parameter overrides on top of the defaults; the first is the reference for ratios.
VARIANTS: dict[str, dict[str, Any]] = {
    "haar": {},
    "haar min_face 20, full res": {"detection.min_face_size": 20, "detection.max_width": 0},
    "blazeface": {"detection.backend": "blazeface"},
    "blazeface tiles 2": {"detection.backend": "blazeface", "detection.blazeface_tiles": 2},
    "blazeface short_range": {"detection.backend": "blazeface", "detection.blazeface_model": "short_range"},
    "yunet": {"detection.backend": "yunet"},
    "yunet conf 0.8": {"detection.backend": "yunet", "detection.yunet_min_confidence": 0.8},
}
# The anchor photos in camera frames (issue 32): each backend at its defaults; at 1280x720 also
# YuNet on the frame downscaled to 640 wide (a third of the full-resolution cost).
PHOTO_VARIANTS: dict[str, dict[str, Any]] = {
    "haar": {}, "blazeface": {"detection.backend": "blazeface"}, "yunet": {"detection.backend": "yunet"},
    "yunet max_width 640": {"detection.backend": "yunet", "detection.yunet_max_width": 640},
}
PHOTO_BINS = (0, 16, 24, 32, 48, 10000)
# Backends differ in where they draw a face's box (Haar's is square and small, YuNet's runs from
# the hairline to the chin): against another detector's boxes a face counts as found from this
# overlap (as benchlib.recall's options against the Haar reference).
PHOTO_MATCH_IOU = 0.3
# The whole pipeline's detect stage per frame (issue 32's speed target), full detection every
# N frames with region search between.
PIPELINE_VARIANTS: dict[str, dict[str, Any]] = {
    "haar": {}, "blazeface": {"detection.backend": "blazeface"}, "yunet": {"detection.backend": "yunet"},
    "yunet redetect 2": {"detection.backend": "yunet", "detection.redetect_interval": 2},
    "yunet redetect 3": {"detection.backend": "yunet", "detection.redetect_interval": 3},
}
PIPELINE_FACES = (1, 3, 6)
REFERENCE = "haar"
ANCHOR_WIDTHS = (2048, 1280, 640, 320)  # test_image.jpg as shot and scaled to camera frames
REGION_FACES = (1, 3, 5, 6, 8)


def _detectors(variants: dict[str, dict[str, Any]] = VARIANTS) -> dict[str, Any]:
    from face_perception.detection.detectors import create_detector
    from face_perception.parameters import PipelineConfig

    return {name: create_detector(PipelineConfig.from_mapping(overrides).detection)
            for name, overrides in variants.items()}


def _timed(detector, image, boxes=None) -> tuple[list, float]:
    start = time.perf_counter()
    found = detector.detect(image, boxes)
    return found, (time.perf_counter() - start) * 1000.0


def anchor_results(detectors: dict[str, Any], repeats: int) -> dict[str, Any]:
    import cv2

    loaded = anchor_photo()
    if loaded is None:
        return {}
    photo, labels = loaded
    results: dict[str, Any] = {}
    for width in ANCHOR_WIDTHS:
        scale = width / photo.shape[1]
        image = photo if width == photo.shape[1] else cv2.resize(
            photo, (width, int(round(photo.shape[0] * scale))), interpolation=cv2.INTER_AREA)
        truths = [[v * scale for v in box] for box in labels]
        for name, detector in detectors.items():
            times = []
            for _ in range(repeats):
                found, ms = _timed(detector, image)
                times.append(ms)
            found_flags, correct = match([d.box for d in found], truths, MATCH_IOU)
            results.setdefault(name, {})[str(width)] = {
                "faces": len(truths), "found": sum(found_flags), "false": len(correct) - sum(correct),
                "ms": float(np.median(times)), "smallest_face_px": min(t[2] for t in truths),
            }
    return results


def synthetic_results(detectors: dict[str, Any], frames: list, face_free: list) -> dict[str, Any]:
    stats = {name: {"truth": {}, "found": {}, "detections": {}, "correct": {}, "ms": [], "false_free": 0,
                    "region_found": {}, "region_ms": []} for name in detectors}
    for index, frame in enumerate(frames):
        for name, detector in detectors.items():
            found, ms = _timed(detector, frame.image)
            entry = stats[name]
            entry["ms"].append(ms)
            found_flags, correct = match([d.box for d in found], frame.boxes, MATCH_IOU)
            for box, ok in zip(frame.boxes, found_flags):
                key = size_bin(box[2])
                entry["truth"][key] = entry["truth"].get(key, 0) + 1
                entry["found"][key] = entry["found"].get(key, 0) + int(ok)
            # Region-only detection around the true boxes, as if the tracker followed them.
            in_regions, ms = _timed(detector, frame.image, frame.boxes)
            entry["region_ms"].append(ms)
            for box, ok in zip(frame.boxes, match([d.box for d in in_regions], frame.boxes, MATCH_IOU)[0]):
                entry["region_found"][size_bin(box[2])] = entry["region_found"].get(size_bin(box[2]), 0) + int(ok)
            for detection, ok in zip(found, correct):
                # A true detection counts in its face's bin, a false one in its own size's.
                key = size_bin(detection.w)
                if ok:
                    key = size_bin(next(b[2] for b in frame.boxes if _iou(detection.box, b) >= MATCH_IOU))
                entry["detections"][key] = entry["detections"].get(key, 0) + 1
                entry["correct"][key] = entry["correct"].get(key, 0) + int(ok)
        if index % 10 == 9:
            progress(f"detection: synthetic frame {index + 1}/{len(frames)}")
    for frame in face_free:
        for name, detector in detectors.items():
            stats[name]["false_free"] += len(detector.detect(frame.image))
    results = {}
    for name, entry in stats.items():
        truth, found = entry["truth"], entry["found"]
        at_least_20 = [k for k in truth if k[0].isdigit() and int(k.split("-")[0]) >= 20]
        results[name] = {
            "recall_by_size": {k: [found.get(k, 0), truth[k]] for k in truth},
            "region_recall_by_size": {k: [entry["region_found"].get(k, 0), truth[k]] for k in truth},
            "region_ms_median": float(np.median(entry["region_ms"])),
            "precision_by_size": {k: [entry["correct"].get(k, 0), v] for k, v in entry["detections"].items()},
            "recall_20_plus": sum(found.get(k, 0) for k in at_least_20) / max(1, sum(truth[k] for k in at_least_20)),
            "false_per_face_frame": sum(entry["detections"].values()) - sum(entry["correct"].values()),
            "false_per_face_free_frame": entry["false_free"] / max(1, len(face_free)),
            "ms_median": float(np.median(entry["ms"])),
            "ms_p90": float(np.percentile(entry["ms"], 90)),
        }
        results[name]["false_per_face_frame"] /= max(1, len(frames))
    return results


def _iou(a, b) -> float:
    from face_perception.detection.detection import box_iou

    return box_iou(a, b)


def timing_results(detectors: dict[str, Any], repeats: int) -> dict[str, Any]:
    """
    Measure ms per 640x480 demo frame of full and of region-only detection.

    Measure ms per 640x480 demo frame (astronaut heads, as in the ROS runs): full detection, and
    region-only detection around each face's known box (what runs between full detections).
    """
    from face_perception.ros.demo_frames import demo_frame, face_layout

    results: dict[str, Any] = {name: {} for name in detectors}
    for faces in REGION_FACES:
        frame = demo_frame(0, 640, 480, faces)
        full_times: dict[str, list] = {name: [] for name in detectors}
        region_times: dict[str, list] = {name: [] for name in detectors}
        regions_found: dict[str, int] = {}
        for _ in range(repeats):
            for name, detector in detectors.items():
                found, ms = _timed(detector, frame)
                full_times[name].append(ms)
                # Regions around the boxes the detector itself found, as the tracker would.
                boxes = [d.box for d in found] or [(cx - s / 2, cy - s / 2, s, s)
                                                   for cx, cy, s in face_layout(faces, 640, 480)]
                in_regions, ms = _timed(detector, frame, boxes)
                region_times[name].append(ms)
                regions_found[name] = len(in_regions)
        for name in detectors:
            results[name][str(faces)] = {
                "full_ms": float(np.median(full_times[name])), "region_ms": float(np.median(region_times[name])),
                "found_full": len(detectors[name].detect(frame)), "found_regions": regions_found[name],
            }
    return results


def _photo_bin(width: float) -> str:
    for low, high in zip(PHOTO_BINS, PHOTO_BINS[1:]):
        if low <= width < high:
            return f"{low}-{high}" if high < PHOTO_BINS[-1] else f">={low}"
    return "?"


def photo_results(frame_size: tuple[int, int]) -> dict[str, Any]:
    """Recall by face width and false faces per frame on the anchor photos set in camera frames."""
    from benchlib.detection_set import photo_frames

    frames = photo_frames(frame_size)
    if not frames:
        return {}
    names = [n for n in PHOTO_VARIANTS if frame_size[0] > 640 or "max_width" not in n]
    detectors = _detectors({n: PHOTO_VARIANTS[n] for n in names})
    stats = {n: {"truth": {}, "found": {}, "false": 0, "ms": []} for n in names}
    for frame in frames:
        for name, detector in detectors.items():  # interleaved: machine load hits all alike
            found, ms = _timed(detector, frame.image)
            flags, correct = match([d.box for d in found], frame.boxes, PHOTO_MATCH_IOU)
            entry = stats[name]
            entry["ms"].append(ms)
            entry["false"] += len(correct) - sum(correct)
            for box, ok in zip(frame.boxes, flags):
                key = _photo_bin(box[2])
                entry["truth"][key] = entry["truth"].get(key, 0) + 1
                entry["found"][key] = entry["found"].get(key, 0) + int(ok)
    return {"frames": len(frames), "faces": sum(len(f.boxes) for f in frames), "variants": {
        name: {"recall_by_width": {k: [e["found"].get(k, 0), n] for k, n in e["truth"].items()},
               "false_per_frame": e["false"] / len(frames), "ms_median": float(np.median(e["ms"]))}
        for name, e in stats.items()}}


def pipeline_timing(frames: int) -> dict[str, Any]:
    """
    Median and p95 of the pipeline's detect stage per 640x480 demo frame, every variant interleaved.

    The detect stage is what a frame waits for: full detection (every frame, or every N with
    region search between) plus the keypoints the framing needs.
    """
    from face_perception.pipeline.pipeline import FacePerceptionPipeline
    from face_perception.parameters import PipelineConfig
    from face_perception.ros.demo_frames import demo_frame

    results: dict[str, Any] = {name: {} for name in PIPELINE_VARIANTS}
    for faces in PIPELINE_FACES:
        pipelines = {name: FacePerceptionPipeline(PipelineConfig.from_mapping(overrides))
                     for name, overrides in PIPELINE_VARIANTS.items()}
        times: dict[str, list[float]] = {name: [] for name in pipelines}
        counts: dict[str, list[int]] = {name: [] for name in pipelines}
        for index in range(frames + 3):
            frame = demo_frame(index, 640, 480, faces)
            for name, pipeline in pipelines.items():
                result = pipeline.process(frame)
                if index >= 3:  # warm-up frames not counted
                    times[name].append(result.timings_ms["detect"])
                    counts[name].append(len(result.faces))
        for name, pipeline in pipelines.items():
            pipeline.close()
            results[name][str(faces)] = {"median_ms": float(np.median(times[name])),
                                         "p10_ms": float(np.percentile(times[name], 10)),
                                         "p95_ms": float(np.percentile(times[name], 95)),
                                         "faces_median": float(np.median(counts[name]))}
    return results


def run_detection_benchmark(num_frames: int, repeats: int) -> dict[str, Any]:
    progress("detection: the anchor photos in 640x480 and 1280x720 frames")
    photos = {f"{w}x{h}": photo_results((w, h)) for w, h in ((640, 480), (1280, 720))}
    progress("detection: the pipeline's detect stage per frame")
    pipeline = pipeline_timing(max(10, num_frames))
    progress("detection: building detectors and the synthetic set")
    detectors = _detectors()
    frames = synthetic_frames(num_frames)
    face_free = face_free_frames()
    progress("detection: test_image.jpg")
    anchor = anchor_results(detectors, repeats)
    progress("detection: timing on demo frames")
    timing = timing_results(detectors, repeats)
    progress(f"detection: synthetic set ({len(frames)} frames, {sum(len(f.boxes) for f in frames)} faces)")
    synthetic = synthetic_results(detectors, frames, face_free)
    # Held-out LFW test people's faces pasted at 16-128 px (issue 32); face-free frames counted once.
    lfw_frames = synthetic_frames(num_frames, source="lfw", sides=(16, 128))
    progress(f"detection: LFW set ({len(lfw_frames)} frames, {sum(len(f.boxes) for f in lfw_frames)} faces)")
    synthetic_lfw = synthetic_results(detectors, lfw_frames, [])
    return {"variants": VARIANTS, "reference": REFERENCE, "match_iou": MATCH_IOU, "anchor": anchor,
            "timing": timing, "synthetic": synthetic, "synthetic_frames": len(frames),
            "synthetic_faces": sum(len(f.boxes) for f in frames), "face_free_frames": len(face_free),
            "synthetic_lfw": synthetic_lfw, "synthetic_lfw_frames": len(lfw_frames),
            "synthetic_lfw_faces": sum(len(f.boxes) for f in lfw_frames),
            "size_bins": list(SIZE_BINS), "photos": photos, "pipeline": pipeline}


# --- report -------------------------------------------------------------------------------------
def _bin_order(key: str) -> int:
    digits = "".join(ch for ch in key.split("-")[0] if ch.isdigit())
    return int(digits) + (1 if key.startswith(">") else 0) if digits else -1


def _ratio_to(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "-"


def print_photos(report: dict[str, Any]) -> None:
    for size, result in report.get("photos", {}).items():
        if not result:
            continue
        variants = result["variants"]
        bins = sorted({k for r in variants.values() for k in r["recall_by_width"]}, key=_bin_order)
        print(f"\n== anchor photos in {size} frames ({result['frames']} frames, {result['faces']} reference faces: "
              f"test_image.jpg's hand labels, YuNet + BlazeFace at the other photos' full resolution): recall by face "
              f"width (IoU >= {PHOTO_MATCH_IOU}) ==")
        print(f"{'backend':24s}" + "".join(f"{b + ' px':>14s}" for b in bins) + f"{'false/frame':>13s}{'ms':>8s}")
        for name, r in variants.items():
            cells = [r["recall_by_width"].get(b, [0, 0]) for b in bins]
            print(f"{name:24s}" + "".join(f"{f:>6d}/{t:<3d}{f / t if t else 0:4.2f}" for f, t in cells)
                  + f"{r['false_per_frame']:13.2f}{r['ms_median']:8.1f}")
    pipeline = report.get("pipeline")
    if pipeline:
        print("\n== the pipeline's detect stage per 640x480 demo frame: median / p95 ms "
              "(ratio of the median to haar's and blazeface's) ==")
        counts = list(next(iter(pipeline.values())))
        print(f"{'variant':20s}" + "".join(f"{c + ' faces':>34s}" for c in counts))
        for name, by_faces in pipeline.items():
            cells = []
            for c in counts:
                r = by_faces[c]
                haar, blazeface = pipeline["haar"][c]["median_ms"], pipeline["blazeface"][c]["median_ms"]
                cells.append(f"{r['median_ms']:5.1f} / {r['p95_ms']:5.1f} ({_ratio_to(r['median_ms'], haar)}, "
                             f"{_ratio_to(r['median_ms'], blazeface)})")
            print(f"{name:20s}" + "".join(f"{c:>34s}" for c in cells))


def print_detection(report: dict[str, Any]) -> None:
    print_photos(report)
    ref = report["reference"]
    anchor = report["anchor"]
    if anchor:
        print("\n== test_image.jpg (6 hand-labelled faces): found / false detections, ms per frame ==")
        widths = list(next(iter(anchor.values())))
        print(f"{'backend':28s}" + "".join(f"{w + ' px wide':>24s}" for w in widths))
        for name, by_width in anchor.items():
            cells = []
            for w in widths:
                r = by_width[w]
                cells.append(f"{r['found']}/{r['faces']} +{r['false']} false {r['ms']:7.1f} ms")
            print(f"{name:28s}" + "".join(f"{c:>24s}" for c in cells))
        sizes = {w: round(r["smallest_face_px"]) for w, r in next(iter(anchor.values())).items()}
        print(f"   smallest labelled face per width: {sizes}")
    timing = report["timing"]
    print("\n== ms per 640x480 demo frame: full detection / region-only (around each found face) ==")
    counts = list(next(iter(timing.values())))
    print(f"{'backend':28s}" + "".join(f"{c + ' faces':>26s}" for c in counts))
    for name, by_faces in timing.items():
        cells = []
        for c in counts:
            r, base = by_faces[c], timing[ref][c]
            cells.append(f"{r['full_ms']:5.1f} ({r['full_ms'] / base['full_ms']:.2f}x) / {r['region_ms']:4.1f} "
                         f"[{r['found_full']}]")
        print(f"{name:28s}" + "".join(f"{c:>26s}" for c in cells))
    print(f"   (ratio) = full-detection time / {ref}'s; [n] = faces found in the full detection")
    print_synthetic(report, "synthetic", "UTKFace")
    if "synthetic_lfw" in report:
        print_synthetic(report, "synthetic_lfw", "held-out LFW test")


def print_synthetic(report: dict[str, Any], key: str, faces: str) -> None:
    ref = report["reference"]
    synthetic = report[key]
    bins = sorted({k for r in synthetic.values() for k in r["recall_by_size"]}, key=_bin_order)
    print(f"\n== synthetic robot-distance set: {report[key + '_faces']} {faces} faces in "
          f"{report[key + '_frames']} 640x480 frames; recall by face size (IoU >= {report['match_iou']}) ==")
    print(f"{'backend':28s}" + "".join(f"{b:>9s}" for b in bins) + f"{'>=20 px':>9s}{'ratio':>7s}")
    for name, r in synthetic.items():
        cells = [r["recall_by_size"].get(b, [0, 0]) for b in bins]
        print(f"{name:28s}" + "".join(f"{f / t if t else float('nan'):9.2f}" for f, t in cells)
              + f"{r['recall_20_plus']:9.2f}{r['recall_20_plus'] / max(1e-9, synthetic[ref]['recall_20_plus']):7.2f}")
    faces_per_bin = [next(iter(synthetic.values()))["recall_by_size"].get(b, [0, 0])[1] for b in bins]
    print(f"{'(faces per bin)':28s}" + "".join(f"{n:9d}" for n in faces_per_bin))
    print("\n   region-only detection around each true box (a tracked face kept?): recall by size, ms per frame")
    for name, r in synthetic.items():
        cells = [r["region_recall_by_size"].get(b, [0, 0]) for b in bins]
        print(f"{name:28s}" + "".join(f"{f / t if t else float('nan'):9.2f}" for f, t in cells)
              + f"{r['region_ms_median']:9.1f} ms")
    print("\n   precision by face size (true / all detections; a false one binned by its own size),"
          " false faces per frame")
    print(f"{'backend':28s}" + "".join(f"{b:>9s}" for b in bins)
          + f"{'FP/face-free frame':>20s}{'FP/synthetic frame':>20s}"
          f"{'ms median':>11s}{'ms p90':>8s}")
    for name, r in synthetic.items():
        cells = []
        for b in bins:
            good, total = r["precision_by_size"].get(b, [0, 0])
            cells.append(f"{good / total:.2f}" if total else "-")
        free = f"{r['false_per_face_free_frame']:20.3f}" if report["face_free_frames"] and key == "synthetic" else \
            f"{'(above)':>20s}"
        print(f"{name:28s}" + "".join(f"{c:>9s}" for c in cells) + free + f"{r['false_per_face_frame']:20.3f}"
              + f"{r['ms_median']:11.1f}{r['ms_p90']:8.1f}")
    print(f"   face-free frames: {report['face_free_frames']} (skimage photos and anchor-photo crops,"
          " each also mirrored and darker)")
