#!/usr/bin/env python3
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
Measure a data set's own chip framing in the node's terms (the eyes_mouth parameters).

Each data set cuts its faces its own way. This script re-detects a split's chips with the
node's BlazeFace (training.data.framed, the same cached keypoints training uses) and reports, for
the faces found, how the data set's chip relates to the keypoints:

- ``size``: chip side / face scale (face scale = max(eye distance, ratio x eye-to-mouth));
- ``center``: where the chip centre lies from the eye midpoint towards the mouth (0 = eyes,
  1 = mouth), along the eye-mouth line;
- ``eye_mouth_ratio``: eye distance / eye-to-mouth distance.

These are the numbers behind the defaults of ``face_perception.classification.framing.EyesMouthFraming`` and
behind a task's ``--framing-size`` / ``--framing-center`` in training.

Usage: python scripts/measurements/calibrate_framing.py --set fer2013|utkface|lfw [--split train] [--limit N]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SETS = ("fer2013", "utkface", "lfw")


def redetected(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(keypoints [N, 6, 2], found [N]) of a split, from training's own framed loader and keypoint cache."""
    from face_perception.classification.framing import EyesMouthFraming
    from training.data.tasks import load_task_data

    # The framed loader re-detects the sources the way training does; the framing it cuts
    # with does not change the keypoints. UTKFace alone is the age task's data; LFW is the
    # gender task's second set.
    task = {"fer2013": "emotion", "utkface": "age", "lfw": "gender"}[name]
    data = load_task_data(task, framing=EyesMouthFraming().describe()).splits[split]
    rows = np.flatnonzero(data.extra["source_set"] == 1) if name == "lfw" else np.arange(len(data))
    return data.extra["keypoints"][rows], data.extra["face_found"][rows]


def chip_framing(keypoints: np.ndarray, side: float, eye_mouth_ratio: float) -> dict[str, np.ndarray]:
    """Per face: the chip's size, center and the face's eye/mouth ratio (see the module docstring)."""
    from face_perception.classification.framing import LEFT_EYE, MOUTH, RIGHT_EYE

    eye_mid = 0.5 * (keypoints[:, RIGHT_EYE] + keypoints[:, LEFT_EYE])
    eye_distance = np.linalg.norm(keypoints[:, LEFT_EYE] - keypoints[:, RIGHT_EYE], axis=1)
    down = keypoints[:, MOUTH] - eye_mid
    eye_mouth = np.linalg.norm(down, axis=1)
    scale = np.maximum(np.maximum(eye_distance, eye_mouth_ratio * eye_mouth), 1e-3)
    centre = np.full(2, side / 2.0)
    center = np.einsum("ij,ij->i", centre - eye_mid, down) / np.maximum(eye_mouth ** 2, 1e-6)
    return {"size": side / scale, "center": center, "eye_mouth_ratio": eye_distance / np.maximum(eye_mouth, 1e-3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--set", choices=SETS, required=True)
    p.add_argument("--split", default="train", choices=("train", "validation", "test"))
    p.add_argument("--limit", type=int, default=0, help="only N evenly spaced chips (0: all)")
    p.add_argument("--json", type=Path, default=None, help="also write the summary here")
    args = p.parse_args(argv)

    from face_perception.classification.framing import EyesMouthFraming
    from training.data.framed import SOURCE_SIDE

    keypoints, found = redetected(args.set, args.split)
    if args.limit and args.limit < len(found):
        rows = np.linspace(0, len(found) - 1, args.limit).round().astype(int)
        keypoints, found = keypoints[rows], found[rows]
    measured = chip_framing(keypoints[found].astype(np.float64), SOURCE_SIDE, EyesMouthFraming().eye_mouth_ratio)
    summary = {"set": args.set, "split": args.split, "chips": int(len(found)), "faces_found": int(found.sum())}
    for key, values in measured.items():
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        summary[key] = {"median": round(float(median), 3), "q1": round(float(q1), 3), "q3": round(float(q3), 3)}
    print(json.dumps(summary, indent=1))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
