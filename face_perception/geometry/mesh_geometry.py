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
Head pose from the face mesh: its 2-D points against a 3-D mean face of the same mesh.

The mean face (``face_perception/data/mean_face_mesh.json``, built from LFW by
``scripts/assets/build_mean_face_mesh.py``) is in the REP-155 face frame, in metres: origin between
the eyes' centres (63 mm apart), x out of the face, y to the person's left, z up. It also
holds the eyeballs' centres for the eye gaze (:mod:`face_perception.geometry.gaze`).

Two ways to the pose from the mesh's inner points (:data:`POSE_POINTS`: the face oval's points
slide along the silhouette as the head turns, so they are left out), both after removing the
lens distortion:

- :func:`align_mesh_pose` (the node's): the mesh model gives every point's depth too (z, in the
  scale of x), so the observed points are a 3-D shape; its rotation is the least-squares
  similarity (Umeyama) that takes the mean face onto it, turned from the crop's line of sight
  to the camera's axes, and the translation follows by linear least squares on the points'
  rays (0.3-0.4 ms per face with its reprojection check, against SQPnP's 0.2-0.25 ms).
- :func:`estimate_mesh_pose`: ``cv2.solvePnP`` (SQPnP, 0.2 ms) of the 2-D points alone. A
  Levenberg-Marquardt refinement after it gained 0.3 degrees on the renders for 1.2 ms per
  face: left out.

Both are measured side by side by ``scripts/measurements/measure_head_pose.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import json
from pathlib import Path

import cv2
import numpy as np

from face_perception.detection.detection import Keypoints
from face_perception.detection.landmarks import (
    FaceLandmarks,
    LEFT_EYE_INNER,
    LEFT_EYE_OUTER,
    RIGHT_EYE_INNER,
    RIGHT_EYE_OUTER,
)
from face_perception.geometry.head_pose import CameraModel, from_keypoints, HeadPose, plausible, PoseEstimate

MEAN_FACE_FILE = "mean_face_mesh.json"
MEAN_FACE_PATH = Path(__file__).resolve().parent.parent / "data" / MEAN_FACE_FILE
# The face oval of the mesh (MediaPipe's silhouette ring): these points lie on the visible
# outline, which is another part of the head at every yaw, so the pose ignores them.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# A pose whose points reproject worse than this (RMS, in eye distances) is a wrong fit.
MAX_REPROJECTION_ERROR = 0.15


@dataclass(frozen=True)
class MeanFaceMesh:
    """The mesh's 468 points on a mean face (face frame, metres) and its left eyeball (right = mirrored)."""

    points: np.ndarray
    left_eyeball_centre: np.ndarray
    eyeball_radius: float

    def eyeball_centre(self, left: bool) -> np.ndarray:
        """Return the eyeball's centre in the face frame (the right one mirrored across the face's midplane)."""
        return self.left_eyeball_centre * (np.array([1.0, 1.0, 1.0]) if left else np.array([1.0, -1.0, 1.0]))

    def eye_corners_midpoint(self, left: bool) -> np.ndarray:
        """Return the eye's corners' midpoint in the face frame."""
        return eye_centres(self.points)[int(left)]


@lru_cache(maxsize=1)
def mean_face(path: Path = MEAN_FACE_PATH) -> MeanFaceMesh:
    """Return the shipped mean face (read once)."""
    data = json.loads(Path(path).read_text())
    points = np.asarray(data["points"], np.float64)
    if points.shape != (468, 3):
        raise ValueError(f"{path}: expected 468x3 points, got {points.shape}")
    return MeanFaceMesh(points, np.asarray(data["left_eyeball_centre"], np.float64), float(data["eyeball_radius"]))


POSE_POINTS = np.array(sorted(set(range(468)) - set(FACE_OVAL)))


def eye_centres(points: np.ndarray) -> np.ndarray:
    """Return the right and left eyes' centres (midpoints of their corners), 2xD, of mesh points."""
    points = np.asarray(points, np.float64)
    return np.array([0.5 * (points[RIGHT_EYE_OUTER] + points[RIGHT_EYE_INNER]),
                     0.5 * (points[LEFT_EYE_OUTER] + points[LEFT_EYE_INNER])])


def estimate_mesh_pose(points: np.ndarray, camera: CameraModel, face: MeanFaceMesh | None = None
                       ) -> HeadPose | None:
    """Return the head pose for a face mesh's points (468x2 or x3, pixels), or None when none fits."""
    face = face or mean_face()
    image_points = camera.undistort(np.asarray(points, np.float64)[:, :2])[POSE_POINTS]
    object_points = face.points[POSE_POINTS]
    if not np.all(np.isfinite(image_points)):
        return None
    try:
        ok, rvec, tvec = cv2.solvePnP(object_points, image_points, camera.k, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:  # degenerate points: OpenCV asserts
        return None
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    return _checked_pose(rotation, tvec.ravel(), points, camera, face)


def _checked_pose(rotation: np.ndarray, translation: np.ndarray, points: np.ndarray, camera: CameraModel,
                  face: MeanFaceMesh) -> HeadPose | None:
    """Return the pose with its reprojection error, or None where it is implausible or does not fit the points."""
    if not (np.all(np.isfinite(rotation)) and np.all(np.isfinite(translation))):
        return None
    undistorted = camera.undistort(np.asarray(points, np.float64)[:, :2])
    rvec, _ = cv2.Rodrigues(rotation)
    projected, _ = cv2.projectPoints(face.points[POSE_POINTS], rvec, translation, camera.k, None)
    eyes = eye_centres(undistorted)
    scale = max(float(np.linalg.norm(eyes[1] - eyes[0])), 1e-6)
    residuals = projected.reshape(-1, 2) - undistorted[POSE_POINTS]
    error = float(np.sqrt(np.mean(np.sum(residuals ** 2, axis=1)))) / scale
    if not plausible(rotation, translation) or error > MAX_REPROJECTION_ERROR:
        return None
    return HeadPose(rotation, translation, error)


def similarity_rotation(model: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Return the rotation of the least-squares similarity taking Nx3 ``model`` onto ``observed`` (Umeyama)."""
    model_centred = model - model.mean(axis=0)
    observed_centred = observed - observed.mean(axis=0)
    u, _, vt = np.linalg.svd(observed_centred.T @ model_centred)
    reflection = np.diag([1.0, 1.0, float(np.sign(np.linalg.det(u @ vt)) or 1.0)])
    return u @ reflection @ vt


def line_of_sight_rotation(direction: np.ndarray) -> np.ndarray:
    """Return the smallest rotation taking the camera's axis (0, 0, 1) onto ``direction``."""
    direction = np.asarray(direction, np.float64) / np.linalg.norm(direction)
    axis = np.cross([0.0, 0.0, 1.0], direction)
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + cross + cross @ cross / (1.0 + direction[2])


def translation_for(rotation: np.ndarray, model: np.ndarray, normalised: np.ndarray) -> np.ndarray:
    """
    Return the least-squares translation putting the rotated ``model`` points on their rays.

    ``normalised``: Nx2 image points as (x/z, y/z). Each point gives two linear equations,
    x' (r3.X + tz) = r1.X + tx and the same for y'.
    """
    turned = model @ rotation.T
    count = len(model)
    a = np.zeros((2 * count, 3))
    a[0::2, 0] = 1.0
    a[1::2, 1] = 1.0
    a[0::2, 2] = -normalised[:, 0]
    a[1::2, 2] = -normalised[:, 1]
    b = np.empty(2 * count)
    b[0::2] = normalised[:, 0] * turned[:, 2] - turned[:, 0]
    b[1::2] = normalised[:, 1] * turned[:, 2] - turned[:, 1]
    return np.linalg.lstsq(a, b, rcond=None)[0]


def align_mesh_pose(points: np.ndarray, camera: CameraModel, face: MeanFaceMesh | None = None
                    ) -> HeadPose | None:
    """
    Return the head pose from a face mesh's 3-D points (468x3, pixels, z in x's scale), or None.

    The mesh's x and y are image positions; z is the model's relative depth, away from the
    camera, in the scale of x. The model sees a crop, not where it lies in the image, so its
    depth is along the line of sight to the face: the image points are first turned to what a
    camera looking along that line (through the points' centroid) would see; there the 3-D
    points (normalised units, x/f) are the face's shape as that camera sees it, and the
    rotation taking the mean face onto them, turned back by the line of sight's rotation, is
    the head's rotation in the camera frame.
    """
    face = face or mean_face()
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] < 3:
        return None
    undistorted = camera.undistort(points[:, :2])[POSE_POINTS]
    depth = points[POSE_POINTS, 2]
    if not (np.all(np.isfinite(undistorted)) and np.all(np.isfinite(depth))):
        return None
    k = camera.k
    normalised_y = (undistorted[:, 1] - k[1, 2]) / k[1, 1]
    normalised_x = (undistorted[:, 0] - k[0, 2] - k[0, 1] * normalised_y) / k[0, 0]
    normalised = np.column_stack([normalised_x, normalised_y])
    # The image a camera turned to look along the line of sight would see (a homography).
    centroid = normalised.mean(axis=0)
    sight = line_of_sight_rotation(np.array([centroid[0], centroid[1], 1.0]))
    rays = np.column_stack([normalised, np.ones(len(normalised))]) @ sight
    observed = np.column_stack([rays[:, :2] / rays[:, 2:], depth / k[0, 0]])
    model = face.points[POSE_POINTS]
    try:
        rotation = sight @ similarity_rotation(model, observed)
    except np.linalg.LinAlgError:
        return None
    return _checked_pose(rotation, translation_for(rotation, model, normalised), points, camera, face)


@lru_cache(maxsize=1)
def mirrored_mean_face() -> MeanFaceMesh:
    """Return the mean face seen in a mirror (y negated, the indices kept): the model of a mirrored mesh."""
    face = mean_face()
    return MeanFaceMesh(face.points * np.array([1.0, -1.0, 1.0]), face.left_eyeball_centre, face.eyeball_radius)


def mirror_averaged_pose(points: np.ndarray, mirrored_points: np.ndarray | None, camera: CameraModel,
                         estimate=align_mesh_pose) -> HeadPose | None:
    """
    Return the mean of the poses of a mesh and of its mirrored mesh, or the mesh's alone.

    ``mirrored_points``: :meth:`FaceMeshLandmarker.measure_mirrored`'s mesh, whose points lie on
    the mirrored features; fitted against the mirrored mean face it gives the head's pose
    directly. The two rotations are averaged (the rotation nearest their sum), as are the
    translations: the model's left-right biases cancel. Where either has no pose, the other's.
    """
    pose = estimate(points, camera)
    mirrored = None if mirrored_points is None else estimate(mirrored_points, camera, mirrored_mean_face())
    if pose is None or mirrored is None:
        return pose or mirrored
    u, _, vt = np.linalg.svd(pose.rotation + mirrored.rotation)
    rotation = u @ np.diag([1.0, 1.0, float(np.sign(np.linalg.det(u @ vt)) or 1.0)]) @ vt
    return HeadPose(rotation, 0.5 * (pose.translation + mirrored.translation),
                    max(pose.reprojection_error, mirrored.reprojection_error))


def from_mesh(points: np.ndarray) -> PoseEstimate:
    """Return the pose estimate of a face mesh's points (pixels): 3-D alignment, or SQPnP for 2-D points."""
    points = np.asarray(points, np.float64)
    if points.ndim == 2 and points.shape[1] >= 3:
        return lambda camera: align_mesh_pose(points, camera)
    return lambda camera: estimate_mesh_pose(points, camera)


def best_pose_estimate(landmarks: FaceLandmarks | None, keypoints: Keypoints | None) -> PoseEstimate | None:
    """
    Return a face's best pose estimate: its mesh's, falling back to its six keypoints'.

    The mesh's many points give a pose to a few degrees (scripts/measurements/measure_head_pose.py); where
    the face has no mesh, or the mesh's fit fails, its keypoints' pose is still worth having.
    """
    estimates = ([from_mesh(landmarks.points)] if landmarks is not None else []) + (
        [from_keypoints(keypoints)] if keypoints is not None else [])
    if not estimates:
        return None

    def first_plausible(camera: CameraModel) -> HeadPose | None:
        return next((pose for pose in (estimate(camera) for estimate in estimates) if pose is not None), None)

    return first_plausible
