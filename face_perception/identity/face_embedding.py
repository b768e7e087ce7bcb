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
Face identity descriptors: an aligned chip from our own keypoints, and dlib's ResNet on it.

dlib's face recognition ResNet (``dlib-bin`` with the weights of the ``face-recognition-models``
package, both from PyPI; nothing is downloaded at run time) maps a 150x150 RGB chip to a
128-D descriptor whose Euclidean distance is small for the same person. Its chips are cut by
dlib's 5-point shape predictor; we have no second face detector, so :func:`align_chip` cuts
the chip with a similarity transform that puts *our* detector's eyes, nose tip and mouth
where they fall on dlib's chips (:data:`CHIP_TEMPLATE`, measured by
``scripts/measurements/calibrate_identity_alignment.py``).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol, Sequence

import cv2
import numpy as np

from face_perception.detection.detection import Keypoints

CHIP_SIZE = 150
# Where the right eye, left eye, nose tip and mouth centre (detection.KEYPOINT_NAMES[:4]) of
# our BlazeFace keypoints lie on dlib's own 150x150 chips (5-point predictor, padding 0.25):
# the mean over 394 chips of 200 LFW validation people (per-point std 3.5-4.6 px), from
# scripts/measurements/calibrate_identity_alignment.py.
CHIP_TEMPLATE = np.array([[44.1, 46.6], [101.9, 44.0], [74.0, 75.8], [75.1, 106.1]], np.float64)
# Only these keypoints steer the chip; the ear tragions move with the head's yaw.
_ALIGN_POINTS = 4
DESCRIPTOR_SIZE = 128


class EmbeddingUnavailable(RuntimeError):
    """The descriptor model or its package is missing; identity cannot run."""


class FaceEmbedder(Protocol):
    """Maps aligned RGB chips to identity descriptors (one row each, L2 distance compares them)."""

    dimension: int
    name: str

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Return an (N, dimension) float32 array for N ``CHIP_SIZE`` RGB uint8 chips."""


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """
    Return the 2x3 least-squares similarity (rotation, uniform scale, shift) taking source to target.

    Closed form (Umeyama without reflection) for N >= 2 point pairs, so it is deterministic
    and needs no RANSAC for four points.
    """
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mean_s, target - mean_t
    variance = float((s ** 2).sum())
    if variance <= 1e-9:
        raise ValueError("the keypoints coincide: no face to align")
    # For 2-D similarity: [a -b; b a] with a = sum(s.t)/var, b = sum(s x t)/var.
    a = float((s * t).sum()) / variance
    b = float((s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum()) / variance
    rotation_scale = np.array([[a, -b], [b, a]])
    shift = mean_t - rotation_scale @ mean_s
    return np.hstack([rotation_scale, shift[:, None]])


def align_chip(image: np.ndarray, keypoints: Keypoints | np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """
    Cut the ``size`` x ``size`` RGB chip dlib's network expects, aligned on ``keypoints``.

    ``image``: BGR, BGRA or grey uint8 (source pixels of ``keypoints``, detection.KEYPOINT_NAMES
    order). Borders outside the frame repeat the edge pixels, as our other framings do.
    """
    points = np.asarray(keypoints, np.float64)[:_ALIGN_POINTS]
    if points.shape != (_ALIGN_POINTS, 2) or not np.all(np.isfinite(points)):
        raise ValueError(f"need {_ALIGN_POINTS} finite keypoints, got shape {points.shape}")
    matrix = similarity_transform(points, CHIP_TEMPLATE * (size / CHIP_SIZE))
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    source = image
    if scale < 0.5:  # a large face shrunk in one warp aliases: halve it first
        factor = 2.0 * scale
        source = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        matrix = matrix.copy()
        matrix[:, :2] /= factor
    chip = cv2.warpAffine(source, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if chip.ndim == 2:
        return cv2.cvtColor(chip, cv2.COLOR_GRAY2RGB)
    if chip.shape[2] == 4:
        return cv2.cvtColor(chip, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(chip, cv2.COLOR_BGR2RGB)


def dlib_model_path(file_name: str = "dlib_face_recognition_resnet_model_v1.dat") -> Path:
    """
    Return the path of a model file the ``face-recognition-models`` package ships.

    Found without importing that package (its ``__init__`` needs ``pkg_resources``).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise EmbeddingUnavailable(
            "the face-recognition-models package is not installed (pip install -r requirements/runtime.txt)")
    path = Path(spec.origin).parent / "models" / file_name
    if not path.is_file():
        raise EmbeddingUnavailable(f"{path} is missing from the face-recognition-models package")
    return path


class DlibFaceEmbedder:
    """dlib's ResNet-29 face descriptor (128-D; dlib reports 99.38% on LFW with its own alignment)."""

    dimension = DESCRIPTOR_SIZE
    name = "dlib_resnet_v1"

    def __init__(self, model_path: Path | None = None) -> None:
        try:
            import dlib
        except ImportError as error:
            raise EmbeddingUnavailable(f"dlib cannot be imported ({error}); pip install dlib-bin") from error
        path = model_path or dlib_model_path()
        try:
            self._model = dlib.face_recognition_model_v1(str(path))
        except RuntimeError as error:
            raise EmbeddingUnavailable(f"cannot load {path}: {error}") from error

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dimension), np.float32)
        for chip in chips:
            if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3) or chip.dtype != np.uint8:
                raise ValueError(f"expected {CHIP_SIZE}x{CHIP_SIZE}x3 uint8 chips, got {chip.shape} {chip.dtype}")
        descriptors = self._model.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return np.array([np.array(d) for d in descriptors], np.float32)
