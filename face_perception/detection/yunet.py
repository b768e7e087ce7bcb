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
Face detection with YuNet (``detection.backend: yunet``), run by OpenCV's ``cv2.FaceDetectorYN``.

YuNet reads the BGR frame at its own resolution and finds faces from about 10 px wide
(docs/detection.md: recall by face size). Per face it gives a box, a score and five
keypoints: the person's right eye, left eye, nose tip, right and left mouth corner. They
become our six :data:`~face_perception.detection.detection.KEYPOINT_NAMES` as follows:

- ``right_eye``, ``left_eye``, ``nose_tip``: YuNet's own points;
- ``mouth_center``: the midpoint of the two mouth corners (on the lips' line, as BlazeFace's);
- ``right_ear_tragion``, ``left_ear_tragion``: not measured: NaN. Their consumers use what is
  finite (the head pose fits the four points, REP-155 landmarks leave the ears at c = 0);
  the framing, the aligned face and identity use the eyes and the mouth only.

The model ships in the package (``models/face_detection_yunet_2023mar.onnx``, MIT, see the
README beside it); ``detection.yunet_model`` may name another file. A region search (between
full detections) letterboxes the square around each tracked face into a small fixed input.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from face_perception.detection.detection import Detection, Keypoints, PreparedFrame
from face_perception.detection.regions import drop_duplicates, region_square, YUNET_WINDOW
from face_perception.parameters import DetectionConfig

MODEL_FILE = "face_detection_yunet_2023mar.onnx"
# Candidates kept before NMS (OpenCV's sample value; a frame never holds that many faces).
TOP_K = 5000
# A region search letterboxes the square around a tracked face into this many pixels: the
# face is then about REGION_INPUT / region_scale pixels wide (64 at the default 2.0), well
# inside YuNet's range whatever its size in the frame, at about 1 ms per face.
REGION_INPUT = 128
# YuNet's row: box (x, y, w, h), five keypoints (x, y), score.
_KEYPOINTS = slice(4, 14)
_SCORE = 14


class YuNetLoadError(ValueError):
    """The YuNet model file is missing or not a model OpenCV can run."""


def shipped_model_path() -> Path:
    """Return the YuNet model that ships in the package's models/ directory."""
    return Path(__file__).resolve().parents[1] / "models" / MODEL_FILE


def resolve_model_path(model_file: str) -> Path:
    """Return the model to load: the parameter's file, or the shipped one when it is empty."""
    return Path(model_file).expanduser() if model_file else shipped_model_path()


def load_model(path: Path, width: int, height: int, min_confidence: float, nms_iou: float) -> cv2.FaceDetectorYN:
    """
    Return OpenCV's YuNet detector for ``path``, checked by one inference on a blank image.

    Raises :class:`YuNetLoadError` naming the file when it is missing, unreadable, not an
    ONNX model or not one with YuNet's outputs.
    """
    parameter = "(parameter detection.yunet_model)"
    if not path.is_file():
        raise YuNetLoadError(f"YuNet model {path} does not exist {parameter}")
    try:
        detector = cv2.FaceDetectorYN.create(str(path), "", (width, height), min_confidence, nms_iou, TOP_K)
        detector.detect(np.zeros((height, width, 3), np.uint8))
    except (cv2.error, SystemError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise YuNetLoadError(f"YuNet model {path} cannot be loaded by OpenCV ({reason}) {parameter}") from error
    return detector


def face_keypoints(row: np.ndarray) -> Keypoints:
    """
    Return our six keypoints of a YuNet row (module docstring: what maps to what).

    ``row``: YuNet's 15 values in source pixels.
    """
    points = np.asarray(row[_KEYPOINTS], np.float64).reshape(5, 2)
    right_eye, left_eye, nose, right_mouth, left_mouth = (tuple(float(v) for v in p) for p in points)
    mouth = (0.5 * (right_mouth[0] + left_mouth[0]), 0.5 * (right_mouth[1] + left_mouth[1]))
    missing = (math.nan, math.nan)
    return (right_eye, left_eye, nose, mouth, missing, missing)


class YuNetDetector:
    """Finds faces with YuNet; boxes in source pixels, confidence = YuNet's score."""

    # Its keypoints are measured at the frame's resolution: none need measuring again.
    coarse_keypoints_below = 0.0

    def __init__(self, config: DetectionConfig) -> None:
        self.model_path = resolve_model_path(config.yunet_model)
        self.min_confidence = config.yunet_min_confidence
        self.nms_iou = config.yunet_nms_iou
        self.max_width = config.yunet_max_width
        self.region_scale = config.region_scale
        self._full = load_model(self.model_path, 320, 240, self.min_confidence, self.nms_iou)
        self._full_size = (320, 240)
        self._regions = load_model(self.model_path, REGION_INPUT, REGION_INPUT, self.min_confidence, self.nms_iou)
        self._region_input = np.zeros((REGION_INPUT, REGION_INPUT, 3), np.uint8)

    # --- the detector interface ------------------------------------------------------------
    def prepare(self, image: np.ndarray, gray: np.ndarray | None = None) -> PreparedFrame:
        """
        Return the frame as BGR uint8, downscaled to ``yunet_max_width`` when wider.

        Grey frames are replicated into three channels (``gray`` is not needed: YuNet reads colour).
        """
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(f"detector expects an HxW or HxWx3 uint8 image, got {image.shape} {image.dtype}")
        if image.ndim == 2:
            bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 3:
            bgr = np.ascontiguousarray(image)
        elif image.shape[2] == 4:
            bgr = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        else:
            raise ValueError(f"detector expects 1, 3 or 4 channels, got shape {image.shape}")
        height, width = bgr.shape[:2]
        scale = 1.0
        if self.max_width and width > self.max_width:
            scale = self.max_width / width
            bgr = cv2.resize(bgr, (self.max_width, max(1, int(round(height * scale)))), interpolation=cv2.INTER_AREA)
        return PreparedFrame(bgr, scale, width, height)

    def detect(self, image: np.ndarray, search_boxes: Sequence[Sequence[float]] | None = None) -> list[Detection]:
        return self.detect_prepared(self.prepare(image), search_boxes)

    def detect_prepared(self, frame: PreparedFrame,
                        search_boxes: Sequence[Sequence[float]] | None = None) -> list[Detection]:
        """Faces in the whole frame, or only around ``search_boxes`` (tracked faces, source pixels)."""
        if search_boxes is None:
            rows = self._detect_full(frame.image)
        else:
            rows = []
            for box in search_boxes:
                rows.extend(self._search_region(frame, box))
            rows = [row for row, _ in drop_duplicates([(row, float(row[_SCORE])) for row in rows],
                                                      lambda row: row[:4])]
        detections = [d for d in (_to_detection(row, frame) for row in rows) if d is not None]
        detections.sort(key=lambda d: d.confidence, reverse=True)
        return detections

    # --- internals ----------------------------------------------------------------------------
    def _detect_full(self, image: np.ndarray) -> list[np.ndarray]:
        size = (image.shape[1], image.shape[0])
        if size != self._full_size:
            self._full.setInputSize(size)
            self._full_size = size
        _, faces = self._full.detect(image)
        return [] if faces is None else list(faces)

    def _search_region(self, frame: PreparedFrame, box: Sequence[float]) -> list[np.ndarray]:
        """Rows found in the square around one tracked face (detector pixels), of about its size."""
        scaled = [float(v) * frame.scale for v in box]
        side = max(scaled[2], scaled[3])
        height, width = frame.image.shape[:2]
        x0, y0, x1, y1 = region_square(scaled, self.region_scale, width, height)
        if x1 - x0 < 4 or y1 - y0 < 4 or side < 1:
            return []
        # The whole square maps onto the input; a square clipped at the frame's edge keeps the
        # same scale and leaves the rest of the input black (a letterbox).
        scale = REGION_INPUT / max(side * self.region_scale, x1 - x0, y1 - y0)
        region_w = max(1, min(REGION_INPUT, int(round((x1 - x0) * scale))))
        region_h = max(1, min(REGION_INPUT, int(round((y1 - y0) * scale))))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        self._region_input.fill(0)
        self._region_input[:region_h, :region_w] = cv2.resize(frame.image[y0:y1, x0:x1], (region_w, region_h),
                                                              interpolation=interpolation)
        _, faces = self._regions.detect(self._region_input)
        kept = []
        for row in [] if faces is None else faces:
            row = row.astype(np.float64)
            row[:_SCORE:2] = row[:_SCORE:2] / scale + x0  # x of the box and of every keypoint
            row[1:_SCORE:2] = row[1:_SCORE:2] / scale + y0
            row[2:4] -= (x0, y0)  # width and height are lengths, not positions
            if YUNET_WINDOW.keeps(side, max(row[2], row[3])):
                kept.append(row)
        return kept


def _to_detection(row: np.ndarray, frame: PreparedFrame) -> Detection | None:
    """Return a clipped, integer source-pixel Detection with its keypoints, or None outside the frame."""
    inverse = 1.0 / frame.scale
    source = np.asarray(row, np.float64).copy()
    source[:_SCORE] *= inverse
    x, y, w, h = source[:4]
    left, top = max(0, int(round(x))), max(0, int(round(y)))
    right = min(frame.source_width, int(round(x + w)))
    bottom = min(frame.source_height, int(round(y + h)))
    if right - left < 1 or bottom - top < 1:
        return None
    score = float(source[_SCORE])
    # level_weight is Haar's raw score; YuNet's score is the confidence itself.
    return Detection(left, top, right - left, bottom - top, score, score, face_keypoints(source))
