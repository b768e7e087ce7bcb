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
Head pose from a face's six keypoints and the camera's intrinsics (pure Python, no ROS).

Frames (REP-103 and REP-155):

- **camera**: the image's optical frame (``header.frame_id``): x right, y down, z forward.
- **face** (``face_<id>``): origin at the midpoint of the eyes (REP-155's approximation of
  the sellion), x out of the face, y to the person's left, z up toward the scalp.
- **gaze** (``gaze_<id>``): the same origin in the optical convention: z along the gaze,
  x to the person's right, y down. We estimate no eye gaze, so its z is the face's x.

The pose is ``cv2.solvePnP`` (SQPnP, globally optimal for any number of points) of the
image keypoints against :data:`MEAN_FACE`, a mean adult face in metres, after removing the
lens distortion from the keypoints. Per track it is smoothed with a One-Euro filter
(Casiez et al., CHI 2012): little smoothing while the head moves fast, much while it is
still, so a still head's frame does not jitter and a turning head's does not lag much.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

# A mean adult face in the face frame (metres), in detection.KEYPOINT_NAMES order: right
# eye, left eye, nose tip, mouth centre, right and left ear tragion. Across (y): mean adult
# interpupillary distance 63 mm, bitragion breadth 144 mm. Down (z): the mean layout of
# BlazeFace's keypoints on LFW faces (framing.BOX_KEYPOINT_PRIORS) scaled by the eye
# distance: nose tip 0.60, mouth centre 1.08, tragion 0.19 eye distances below the eyes.
# Depth (x, forward of the eyes' surface): nose tip +20 mm, lips +5 mm, tragion -80 mm,
# typical adult profile values. Individual faces differ by some millimetres: the pose error
# this leaves is measured by scripts/measurements/measure_head_pose.py.
MEAN_FACE = np.array(
    [
        [0.000, -0.0315, 0.000],   # right_eye (the person's right: -y)
        [0.000, 0.0315, 0.000],    # left_eye
        [0.020, 0.000, -0.038],    # nose_tip
        [0.005, 0.000, -0.068],    # mouth_center
        [-0.080, -0.072, -0.012],  # right_ear_tragion
        [-0.080, 0.072, -0.012],   # left_ear_tragion
    ],
    np.float64,
)
EYE_DISTANCE_M = 0.063
# Fewest keypoints a pose is fitted to: the eyes, the nose tip and the mouth (YuNet's four).
MIN_POSE_POINTS = 4
# The gaze frame's axes as columns in the face frame: x = -y_face, y = -z_face, z = x_face.
GAZE_IN_FACE = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
# A pose whose keypoints reproject worse than this (RMS, in eye distances) is a wrong fit.
MAX_REPROJECTION_ERROR = 0.25
# Nearest plausible face (m): closer solutions are degenerate fits.
MIN_DISTANCE_M = 0.05
# A face whose forward axis points more than this away from the camera cannot show its
# eyes, nose and mouth: such a solution is the mirror ambiguity of a flat point set.
MAX_ANGLE_FROM_CAMERA_DEG = 100.0
DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant", "")


class CameraModelError(ValueError):
    """Intrinsics the pose cannot be computed with (the message says why)."""


@dataclass(frozen=True)
class CameraModel:
    """
    A camera's intrinsics, distortion and image size.

    A camera's intrinsics: 3x3 ``K``, distortion coefficients ``d`` and their model
    (sensor_msgs/CameraInfo's ``distortion_model``), and the image size they are for.
    """

    k: np.ndarray
    d: np.ndarray
    distortion_model: str = "plumb_bob"
    width: int = 0
    height: int = 0

    @classmethod
    def from_values(cls, k: Sequence[float], d: Sequence[float], distortion_model: str,
                    width: int = 0, height: int = 0) -> "CameraModel":
        """Check the intrinsics; raise CameraModelError for an uncalibrated or unusable camera."""
        k_matrix = np.asarray(k, np.float64).reshape(3, 3)
        if not np.all(np.isfinite(k_matrix)) or not (k_matrix[0, 0] > 0 and k_matrix[1, 1] > 0):
            raise CameraModelError(f"K has no positive focal lengths (fx={k_matrix[0, 0]:g}, fy={k_matrix[1, 1]:g}): "
                                   "an uncalibrated camera")
        coefficients = np.asarray(d, np.float64).ravel()
        if not np.all(np.isfinite(coefficients)):
            raise CameraModelError("the distortion coefficients are not finite")
        if distortion_model not in DISTORTION_MODELS:
            raise CameraModelError(f"distortion_model '{distortion_model}' is not one of {DISTORTION_MODELS[:3]}")
        if distortion_model == "equidistant" and coefficients.size != 4:
            raise CameraModelError(f"distortion_model 'equidistant' needs 4 coefficients, got {coefficients.size}")
        if distortion_model != "equidistant" and coefficients.size not in (0, 4, 5, 8, 12, 14):
            raise CameraModelError(f"{coefficients.size} distortion coefficients: OpenCV takes 4, 5, 8, 12 or 14")
        return cls(k_matrix, coefficients, distortion_model, int(width), int(height))

    def undistort(self, points: np.ndarray) -> np.ndarray:
        """Pixel points (Nx2) as an ideal pinhole camera with the same K would see them."""
        points = np.asarray(points, np.float64).reshape(-1, 1, 2)
        if not self.d.size or not np.any(self.d):
            return points.reshape(-1, 2)
        if self.distortion_model == "equidistant":
            return cv2.fisheye.undistortPoints(points, self.k, self.d, P=self.k).reshape(-1, 2)
        return cv2.undistortPoints(points, self.k, self.d, P=self.k).reshape(-1, 2)


@dataclass(frozen=True)
class HeadPose:
    """
    The face frame in the camera frame.

    The face frame in the camera frame: ``rotation`` (3x3, its columns are the face's x,
    y, z axes in camera coordinates) and ``translation`` (metres, the eyes' midpoint).
    """

    rotation: np.ndarray
    translation: np.ndarray
    reprojection_error: float = 0.0  # RMS, in eye distances

    def quaternion(self) -> np.ndarray:
        """(x, y, z, w) of :attr:`rotation`."""
        return matrix_to_quaternion(self.rotation)

    def gaze_rotation(self) -> np.ndarray:
        """Return the gaze frame's axes in camera coordinates."""
        return self.rotation @ GAZE_IN_FACE


def estimate_head_pose(keypoints: np.ndarray, camera: CameraModel, model: np.ndarray = MEAN_FACE,
                       use: Sequence[int] = range(6)) -> HeadPose | None:
    """
    Return the head pose for six image keypoints (pixels), or None when no plausible pose fits.

    ``use``: which keypoints to fit (indices into the six). A keypoint the detector did not
    measure (NaN: YuNet's ear tragions) is left out; fewer than four measured ones give None.
    """
    points = np.asarray(keypoints, np.float64)
    use = [i for i in use if np.all(np.isfinite(points[i]))]
    if len(use) < MIN_POSE_POINTS:
        return None
    image_points = camera.undistort(points[use])
    object_points = np.asarray(model, np.float64)[use]
    if not np.all(np.isfinite(image_points)):
        return None
    try:
        ok, rvec, tvec = cv2.solvePnP(object_points, image_points, camera.k, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:  # degenerate points (all on one spot): OpenCV asserts
        return None
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    translation = tvec.ravel()
    projected, _ = cv2.projectPoints(object_points, rvec, tvec, camera.k, None)
    eye_distance = float(np.hypot(*(image_points[0] - image_points[1]))) if 0 in use and 1 in use else 0.0
    scale = max(eye_distance, float(np.ptp(image_points, axis=0).max()) / 2.0, 1e-6)
    error = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - image_points) ** 2, axis=1)))) / scale
    if not plausible(rotation, translation) or error > MAX_REPROJECTION_ERROR:
        return None
    return HeadPose(rotation, translation, error)


# A face's head pose for a camera, from whatever the face has (six keypoints, a face mesh):
# the tracker calls it once it knows the camera. None: no plausible pose.
PoseEstimate = Callable[["CameraModel"], "HeadPose | None"]


def from_keypoints(keypoints: Sequence[Sequence[float]]) -> PoseEstimate:
    """Return the pose estimate of a face's six keypoints (pixels)."""
    points = np.asarray(keypoints, np.float64)
    return lambda camera: estimate_head_pose(points, camera)


def plausible(rotation: np.ndarray, translation: np.ndarray) -> bool:
    """In front of the camera, not too near, and turned toward it enough to show its face."""
    distance = float(np.linalg.norm(translation))
    if not translation[2] > MIN_DISTANCE_M or not np.all(np.isfinite(rotation)):
        return False
    towards_camera = -translation / distance
    return float(rotation[:, 0] @ towards_camera) > math.cos(math.radians(MAX_ANGLE_FROM_CAMERA_DEG))


def matrix_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(x, y, z, w), w >= 0, of a rotation matrix."""
    rvec, _ = cv2.Rodrigues(np.asarray(rotation, np.float64))
    angle = float(np.linalg.norm(rvec))
    if angle < 1e-12:
        return np.array([0.0, 0.0, 0.0, 1.0])
    axis = rvec.ravel() / angle
    quaternion = np.append(axis * math.sin(angle / 2.0), math.cos(angle / 2.0))
    return quaternion if quaternion[3] >= 0 else -quaternion


def quaternion_to_matrix(quaternion: Sequence[float]) -> np.ndarray:
    x, y, z, w = np.asarray(quaternion, np.float64) / np.linalg.norm(quaternion)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Return the angle of the rotation taking ``a`` to ``b`` (geodesic distance), degrees."""
    cosine = (np.trace(np.asarray(a).T @ np.asarray(b)) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(cosine, -1.0, 1.0))))


def face_rotation(yaw_deg: float, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """
    Return the face frame's axes in camera coordinates for a given yaw, pitch and roll.

    Return the face frame's axes in camera coordinates for a face looking at the camera, then
    turned by yaw (to the person's left, about its z), pitch (down, about its y) and roll
    (about its x). For tests and measurements.
    """
    # Looking at the camera: out of the face = -z (toward the camera), the person's left =
    # the image's right (+x), up = -y.
    facing_camera = np.column_stack([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    yaw, pitch, roll = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    rz = np.array([[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0], [0, 0, 1]])
    ry = np.array([[math.cos(pitch), 0, math.sin(pitch)], [0, 1, 0], [-math.sin(pitch), 0, math.cos(pitch)]])
    rx = np.array([[1, 0, 0], [0, math.cos(roll), -math.sin(roll)], [0, math.sin(roll), math.cos(roll)]])
    return facing_camera @ rz @ ry @ rx


def yaw_pitch_roll(rotation: np.ndarray) -> tuple[float, float, float]:
    """Degrees of :func:`face_rotation` that give ``rotation`` (its inverse, pitch within +-90)."""
    relative = face_rotation(0.0).T @ np.asarray(rotation, np.float64)
    yaw = math.degrees(math.atan2(relative[1, 0], relative[0, 0]))
    pitch = math.degrees(math.asin(float(np.clip(-relative[2, 0], -1.0, 1.0))))
    roll = math.degrees(math.atan2(relative[2, 1], relative[2, 2]))
    return yaw, pitch, roll


def project(points: np.ndarray, rotation: np.ndarray, translation: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Pinhole projection (pixels, Nx2) of face-frame points for a pose."""
    camera_points = np.asarray(points, np.float64) @ np.asarray(rotation).T + np.asarray(translation)
    uvw = camera_points @ np.asarray(k).T
    return uvw[:, :2] / uvw[:, 2:3]


@dataclass(frozen=True)
class OneEuroParameters:
    """
    One-Euro filter settings.

    One-Euro filter settings: cutoff (Hz) of a still signal, how fast the cutoff rises
    with speed (``beta``, per unit of the signal's speed), and the speed's own cutoff.
    """

    min_cutoff: float = 1.0
    beta: float = 1.0
    d_cutoff: float = 1.0


class OneEuroFilter:
    """A One-Euro filter of a vector (the cutoff follows the norm of its speed)."""

    def __init__(self, parameters: OneEuroParameters) -> None:
        self.parameters = parameters
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    def __call__(self, value: np.ndarray, time_s: float) -> np.ndarray:
        value = np.asarray(value, np.float64)
        dt = None if self._time is None else time_s - self._time
        # No history, time going backwards or a long gap: start again from this value.
        if self._value is None or dt is None or not 0.0 < dt <= MAX_FILTER_GAP_S:
            self._value, self._speed, self._time = value, np.zeros_like(value), time_s
            return value
        p = self.parameters
        speed = (value - self._value) / dt
        self._speed = self._speed + _alpha(p.d_cutoff, dt) * (speed - self._speed)
        cutoff = p.min_cutoff + p.beta * float(np.linalg.norm(self._speed))
        self._value = self._value + _alpha(cutoff, dt) * (value - self._value)
        self._time = time_s
        return self._value


# Seconds after which a track's filter forgets its history (the face was not seen for long).
MAX_FILTER_GAP_S = 1.0


def _alpha(cutoff_hz: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class HeadPoseTracker:
    """Smoothed head poses per track (not thread-safe; one per image stream)."""

    def __init__(self, parameters: OneEuroParameters = OneEuroParameters()) -> None:
        self.parameters = parameters
        self._filters: dict[str, tuple[OneEuroFilter, OneEuroFilter]] = {}
        self._last: dict[str, HeadPose] = {}
        self._last_quaternion: dict[str, np.ndarray] = {}

    def set_parameters(self, parameters: OneEuroParameters) -> None:
        self.parameters = parameters
        for position_filter, rotation_filter in self._filters.values():
            position_filter.parameters = rotation_filter.parameters = parameters

    def update(self, track_id: str, pose: HeadPose, time_s: float) -> HeadPose:
        """Return the track's smoothed pose after this frame's ``pose``."""
        if track_id not in self._filters:
            self._filters[track_id] = (OneEuroFilter(self.parameters), OneEuroFilter(self.parameters))
        position_filter, rotation_filter = self._filters[track_id]
        quaternion = pose.quaternion()
        previous = self._last_quaternion.get(track_id)
        if previous is not None and float(quaternion @ previous) < 0.0:
            quaternion = -quaternion  # the same rotation, on the previous one's side
        smoothed_q = rotation_filter(quaternion, time_s)
        smoothed_q = smoothed_q / np.linalg.norm(smoothed_q)
        self._last_quaternion[track_id] = smoothed_q
        smoothed = HeadPose(quaternion_to_matrix(smoothed_q), position_filter(pose.translation, time_s),
                            pose.reprojection_error)
        self._last[track_id] = smoothed
        return smoothed

    def update_frame(self, faces: Iterable[tuple[str, PoseEstimate | None]],
                     live_track_ids: Sequence[str], camera: CameraModel, time_s: float) -> dict[str, HeadPose]:
        """
        Update the tracks' smoothed head poses with one frame.

        One frame: (track id, its pose estimate or None) of the faces seen (:func:`from_keypoints`,
        :func:`face_perception.geometry.mesh_geometry.from_mesh`), the ids of every live
        track. Returns track id -> smoothed pose for the live tracks that have one; a track
        missed in this frame, or whose estimate gave no plausible pose, keeps its last.
        """
        for track_id, estimate in faces:
            pose = None if estimate is None else estimate(camera)
            if pose is not None:
                self.update(track_id, pose, time_s)
        self.keep_only(live_track_ids)
        return {track_id: self._last[track_id] for track_id in live_track_ids if track_id in self._last}

    def last(self, track_id: str) -> HeadPose | None:
        """Return the track's latest smoothed pose (also while it is missed), or None."""
        return self._last.get(track_id)

    def keep_only(self, track_ids: Iterable[str]) -> None:
        """Forget every track not in ``track_ids`` (tracks the tracker dropped)."""
        live = set(track_ids)
        for store in (self._filters, self._last, self._last_quaternion):
            for track_id in set(store) - live:
                del store[track_id]
