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
Face detection with OpenCV's Haar cascade: downscaled, equalised, optionally region-limited.

Confidence: ``detectMultiScale3(..., outputRejectLevels=True)`` returns for every face the
level weight of its strongest window, i.e. the summed weak-classifier votes of the cascade's
last stage (about 0..12 for the default frontal cascade; true faces are mostly above 3,
stray hits near 0..2). It is mapped to [0, 1] with a logistic curve,
``confidence = 1 / (1 + exp(-(weight - 2) / 2))``, which is monotonic, so ranking by
confidence equals ranking by level weight (weight 2 -> 0.5, 6 -> 0.88, 10 -> 0.98). Values
are comparable only between runs with the same cascade and detection parameters.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from face_perception.detection.detection import Box, Detection, PreparedFrame
from face_perception.detection.regions import drop_duplicates, HAAR_WINDOW, region_square
from face_perception.parameters import DetectionConfig

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"
# Logistic mapping of the level weight to [0, 1]; see the module docstring.
_WEIGHT_CENTER = 2.0
_WEIGHT_SCALE = 2.0
# Overlap above which two detections from neighbouring search regions are one face.
# Face sizes searched around a tracked face, relative to its side: tracks are updated every
# frame, so sizes change little between two frames.


class CascadeLoadError(ValueError):
    """The Haar cascade file is missing or not a cascade OpenCV can load."""


def level_weight_to_confidence(weight: float) -> float:
    """Monotonic map of a cascade level weight to [0, 1] (see module docstring)."""
    return 1.0 / (1.0 + math.exp(-(weight - _WEIGHT_CENTER) / _WEIGHT_SCALE))


def resolve_cascade_path(cascade_file: str) -> Path:
    """Return the cascade XML to load: the parameter's file, or OpenCV's shipped frontal-face cascade."""
    if cascade_file:
        return Path(cascade_file).expanduser()
    return Path(cv2.data.haarcascades) / DEFAULT_CASCADE


def load_cascade(cascade_file: str) -> cv2.CascadeClassifier:
    path = resolve_cascade_path(cascade_file)
    if not path.is_file():
        raise CascadeLoadError(f"Haar cascade file {path} does not exist (parameter detection.cascade_file)")
    try:
        cascade = cv2.CascadeClassifier(str(path))
        loaded = not cascade.empty()
    except (cv2.error, SystemError):  # a malformed XML surfaces as either
        loaded = False
    if not loaded:
        raise CascadeLoadError(
            f"Haar cascade file {path} cannot be loaded by OpenCV (parameter detection.cascade_file)"
        )
    return cascade


class HaarFaceDetector:
    """Finds frontal faces; boxes and sizes are always in source image pixels."""

    # It measures no keypoints (each face's come from a BlazeFace pass in its box, if asked).
    coarse_keypoints_below = 0.0

    def __init__(self, config: DetectionConfig) -> None:
        self.config = config
        self.cascade_path = resolve_cascade_path(config.cascade_file)
        self._cascade = load_cascade(config.cascade_file)
        window = self._cascade.getOriginalWindowSize()
        # OpenCV returns (0, 0) for some new-format cascades; 24 is the frontal cascades' window.
        self._window = max(int(window[0]), int(window[1])) or 24

    def prepare(self, image: np.ndarray, gray: np.ndarray | None = None) -> PreparedFrame:
        """
        Downscale (if wider than ``max_width``) and equalise once per frame.

        ``image``: grey or BGR uint8; ``gray``: its grey version, if the caller has it.
        """
        if gray is None:
            gray = image if image.ndim == 2 else _bgr_to_gray(image)
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError(f"detector expects an HxW uint8 grey image, got {gray.shape} {gray.dtype}")
        height, width = gray.shape
        max_width = self.config.max_width
        scale = 1.0
        image = gray
        if max_width and width > max_width:
            scale = max_width / width
            size = (max_width, max(1, int(round(height * scale))))
            image = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        if self.config.equalize_histogram:
            image = cv2.equalizeHist(image)
        return PreparedFrame(image, scale, width, height)

    def detect(self, gray: np.ndarray, search_boxes: Sequence[Sequence[float]] | None = None) -> list[Detection]:
        """
        Faces in an HxW uint8 grey (or BGR) image.

        With ``search_boxes`` (source pixel boxes of tracked faces) only the square regions of
        ``region_scale`` times each box's side around them are searched, for face sizes near
        the tracked one; without, the whole frame is. Results are sorted by confidence.
        """
        return self.detect_prepared(self.prepare(gray), search_boxes)

    def detect_prepared(
        self, frame: PreparedFrame, search_boxes: Sequence[Sequence[float]] | None = None
    ) -> list[Detection]:
        min_size = self._min_detector_size(frame.scale, self.config.min_face_size)
        if search_boxes is None:
            found = self._run_cascade(frame.image, min_size, None, (0, 0))
        else:
            found = []
            for box in search_boxes:
                found.extend(self._search_region(frame, box, min_size))
            found = drop_duplicates(found)
        detections = []
        for (x, y, w, h), weight in found:
            detection = self._to_source(frame, x, y, w, h, weight)
            if detection.w >= self.config.min_face_size:
                detections.append(detection)
        detections.sort(key=lambda d: d.confidence, reverse=True)
        return detections

    def _min_detector_size(self, scale: float, min_face_size_source: float) -> int:
        return max(self._window, int(math.floor(min_face_size_source * scale)))

    def _search_region(
        self, frame: PreparedFrame, box: Sequence[float], base_min_size: int
    ) -> list[tuple[Box, float]]:
        side = max(float(box[2]), float(box[3])) * frame.scale
        height, width = frame.image.shape
        x0, y0, x1, y1 = region_square([float(v) * frame.scale for v in box], self.config.region_scale, width, height)
        # Look only for faces of about the tracked size: faster, and no jumps to other scales.
        min_size = max(base_min_size, int(side * HAAR_WINDOW.smallest))
        max_size = int(math.ceil(side * HAAR_WINDOW.largest))
        if x1 - x0 < min_size or y1 - y0 < min_size:
            return []
        return self._run_cascade(frame.image[y0:y1, x0:x1], min_size, max_size, (x0, y0))

    def _run_cascade(
        self, image: np.ndarray, min_size: int, max_size: int | None, offset: tuple[int, int]
    ) -> list[tuple[Box, float]]:
        if image.shape[0] < min_size or image.shape[1] < min_size:
            return []
        max_dims = (max_size, max_size) if max_size else (0, 0)
        boxes, _levels, weights = self._cascade.detectMultiScale3(
            image,
            scaleFactor=self.config.scale_factor,
            minNeighbors=self.config.min_neighbors,
            minSize=(min_size, min_size),
            maxSize=max_dims,
            outputRejectLevels=True,
        )
        weights = np.ravel(weights) if len(boxes) else []
        return [
            ((int(bx) + offset[0], int(by) + offset[1], int(bw), int(bh)), float(weight))
            for (bx, by, bw, bh), weight in zip(boxes, weights)
        ]

    @staticmethod
    def _to_source(frame: PreparedFrame, x: int, y: int, w: int, h: int, weight: float) -> Detection:
        inverse = 1.0 / frame.scale
        sx, sy = int(round(x * inverse)), int(round(y * inverse))
        sw = min(int(round(w * inverse)), frame.source_width - sx)
        sh = min(int(round(h * inverse)), frame.source_height - sy)
        return Detection(sx, sy, sw, sh, level_weight_to_confidence(weight), weight)


def _bgr_to_gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"detector expects an HxW grey or HxWx3 BGR uint8 image, got {image.shape} {image.dtype}")
