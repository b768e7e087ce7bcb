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
YuNet's keypoints against BlazeFace's on the same faces, and YuNet's box prior.

On LFW and UTKFace chips (padded by half their side, edge pixels repeated), both detectors
run on each chip; where both find the face this prints:

- for the eyes, the nose tip and the mouth centre (YuNet's: the mouth corners' midpoint), the
  median offset of YuNet's point from BlazeFace's, in eye distances (x across, y down), and
  the median distance: do the framings cut the same crop from either detector's keypoints?
- the median of BlazeFace's six keypoints as fractions of YuNet's box: the box prior
  (``face_perception.classification.framing.BOX_KEYPOINT_PRIORS["yunet"]``) measured as the
  Haar and BlazeFace priors were.

Usage: python scripts/measurements/measure_yunet_keypoints.py [--limit 500]
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
import tarfile

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.paths import DEFAULT_LFW, DEFAULT_UTKFACE  # noqa: E402

NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center")


def chips(path: Path, limit: int) -> list[np.ndarray]:
    """Return the first ``limit`` JPEG chips of a tar, in archive order (fast for a gzip stream)."""
    found = []
    with tarfile.open(path) as archive:
        for member in archive:
            if len(found) >= limit:
                break
            if member.isfile() and member.name.endswith(".jpg"):
                data = archive.extractfile(member).read()
                image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if image is not None:
                    found.append(image)
    return found


def measure(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(YuNet - BlazeFace offsets [N, 4, 2] in eye distances, BlazeFace keypoints in YuNet's box [N, 6, 2])."""
    from face_perception.detection.detectors import create_detector
    from face_perception.parameters import PipelineConfig

    yunet = create_detector(PipelineConfig.from_mapping({"detection.backend": "yunet"}).detection)
    blazeface = create_detector(PipelineConfig.from_mapping({"detection.backend": "blazeface"}).detection)
    offsets, in_box = [], []
    for chip in images:
        pad = chip.shape[1] // 2
        padded = cv2.copyMakeBorder(chip, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        found_y, found_b = yunet.detect(padded), blazeface.detect(padded)
        if not found_y or not found_b:
            continue
        y, b = found_y[0], found_b[0]
        ky, kb = np.asarray(y.keypoints, np.float64), np.asarray(b.keypoints, np.float64)
        eye_distance = float(np.hypot(*(kb[1] - kb[0])))
        if eye_distance < 1:
            continue
        offsets.append((ky[:4] - kb[:4]) / eye_distance)
        in_box.append((kb - (y.x, y.y)) / (y.w, y.h))
    return np.asarray(offsets), np.asarray(in_box)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=500, help="chips per data set (default 500)")
    args = parser.parse_args()
    images = []
    for path in (DEFAULT_LFW, DEFAULT_UTKFACE):
        if not path.is_file():
            raise SystemExit(f"{path} not found (../shared/data)")
        images.extend(chips(path, args.limit))
    offsets, in_box = measure(images)
    print(f"{len(offsets)} of {len(images)} chips found by both detectors")
    print("YuNet keypoint - BlazeFace keypoint, eye distances: median x (across), median y (down), median distance")
    for index, name in enumerate(NAMES):
        distance = np.hypot(offsets[:, index, 0], offsets[:, index, 1])
        print(f"  {name:14s} {np.median(offsets[:, index, 0]):+.3f} {np.median(offsets[:, index, 1]):+.3f} "
              f"{np.median(distance):.3f}")
    prior = np.median(in_box, axis=0)
    print("box prior (BlazeFace's keypoints as fractions of YuNet's box):")
    print('    "yunet": np.array([' + ", ".join(f"[{x:.3f}, {y:.3f}]" for x, y in prior) + "], np.float32),")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
