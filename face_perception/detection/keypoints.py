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
Facial keypoints for detectors that measure none (Haar): a BlazeFace pass inside each box.

The eyes-and-mouth framing needs the eyes and the mouth. BlazeFace detections carry them;
a Haar box gets them from BlazeFace's short-range model run on the square around the box
(one small inference per face). Where it finds no face there, the detection keeps no
keypoints and the framing places the Haar box's mean layout
(:data:`face_perception.classification.framing.BOX_KEYPOINT_PRIORS`) in the box instead.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import cv2
import numpy as np

from face_perception.detection.detection import box_iou, Detection
from face_perception.detection.regions import region_square

# The square searched around a box, as a multiple of its side: the short-range model wants
# a face filling much of its input, with room for a box that sits off the face.
REGION_SCALE = 1.8
# Least face probability inside the region (the Haar box already says a face is there).
MIN_CONFIDENCE = 0.3
# Least overlap between the Haar box and BlazeFace's for the keypoints to belong to it.
MIN_IOU = 0.3


class RegionKeypointFinder:
    """Adds BlazeFace keypoints to detections that have none (Haar boxes)."""

    def __init__(self, num_threads: int = 1) -> None:
        from face_perception.detection.blazeface import BlazeFaceModelRunner

        self._runner = BlazeFaceModelRunner("short_range", num_threads)

    def add_keypoints(self, image: np.ndarray, detections: Sequence[Detection], remeasure_below: float = 0.0
                      ) -> list[Detection]:
        """
        Return ``detections`` with keypoints measured where they lack them or are coarse.

        Return ``detections`` with keypoints measured in ``image`` (grey or BGR(A) uint8) where
        they lacked them, or where the face is narrower than ``remeasure_below`` pixels (a
        small face's keypoints from a whole-frame pass are coarse), and BlazeFace finds the
        face in its box; the others unchanged.
        """
        return [d if d.keypoints is not None and d.w >= remeasure_below else self._refined(image, d)
                for d in detections]

    def _refined(self, image: np.ndarray, detection: Detection) -> Detection:
        height, width = image.shape[:2]
        x0, y0, x1, y1 = region_square(detection.box, REGION_SCALE, width, height)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return detection
        side = int(round(REGION_SCALE * max(detection.w, detection.h)))
        found = self._runner.detect_square(_to_rgb(image[y0:y1, x0:x1]), x0, y0, side, MIN_CONFIDENCE)
        best, best_iou = None, MIN_IOU
        for face, _score in found:
            iou = box_iou(detection.box, (face[0], face[1], face[2] - face[0], face[3] - face[1]))
            if iou >= best_iou:
                best, best_iou = face, iou
        if best is None:
            return detection  # a face that had keypoints keeps them
        from face_perception.detection.blazeface import face_keypoints

        return dataclasses.replace(detection, keypoints=face_keypoints(best))


def _to_rgb(region: np.ndarray) -> np.ndarray:
    if region.ndim == 2:
        return cv2.cvtColor(region, cv2.COLOR_GRAY2RGB)
    if region.shape[2] == 4:
        return cv2.cvtColor(region, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(region, cv2.COLOR_BGR2RGB)
