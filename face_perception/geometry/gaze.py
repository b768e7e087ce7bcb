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
Eye gaze from the irises, the head pose and the camera (pure Python, no ROS).

Each eye is a sphere turning about its centre (:class:`~.mesh_geometry.MeanFaceMesh`: the
eyeball's centre in the face frame, and the iris centre's distance from it). With the head pose,
the eyeball's centre is placed in the camera frame; the camera ray through the iris centre
the iris model saw meets that sphere where the iris is; the eye looks from the sphere's
centre through that point. The face's gaze is the mean of both eyes' directions.

The gaze frame (REP-155's ``gaze_<id>``, child of ``face_<id>``, at its origin) has z along
that direction, x toward the person's right as near as z allows, y = z x x (down for a level
gaze): the optical convention, as the head-only frame before it.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from face_perception.detection.landmarks import (
    EyeLandmarks,
    FaceLandmarks,
    LEFT_EYE_INNER,
    LEFT_EYE_OUTER,
    RIGHT_EYE_INNER,
    RIGHT_EYE_OUTER,
)
from face_perception.geometry.head_pose import (
    CameraModel,
    GAZE_IN_FACE,
    HeadPose,
    OneEuroFilter,
    OneEuroParameters,
)
from face_perception.geometry.mesh_geometry import eye_centres, mean_face, MeanFaceMesh

# An eye whose ray misses its sphere by more than this fraction of the radius is a bad fit
# (a wrong iris, or a wrong head pose): it gives no direction.
MAX_MISS_FRACTION = 0.3
# Two eyes whose directions differ by more than this are not looking at one thing: the
# nearer eye's direction is used alone.
MAX_EYE_DISAGREEMENT_DEG = 35.0


@dataclass(frozen=True)
class Gaze:
    """A face's gaze: unit direction in the camera frame, and its angle from the camera (degrees)."""

    direction: np.ndarray
    angle_to_camera_deg: float

    def looking_at_camera(self, threshold_deg: float) -> bool:
        return self.angle_to_camera_deg <= threshold_deg


def eye_direction(eye: EyeLandmarks, left: bool, pose: HeadPose, camera: CameraModel, face: MeanFaceMesh,
                  corners_midpoint: np.ndarray | None = None) -> np.ndarray | None:
    """
    Return one eye's unit gaze direction in the camera frame, or None where its iris does not fit.

    ``corners_midpoint``: the eye's corners' midpoint seen in the image (pixels). The head pose
    fits a mean face to the whole face, whose eyes may sit a few millimetres off this person's:
    the eyeball is then placed relative to the eye's own corners (at the depth the pose gives
    them), since a millimetre is 6 degrees of gaze.
    """
    corners_model = face.eye_corners_midpoint(left)
    corners = pose.rotation @ corners_model + pose.translation
    if corners_midpoint is not None:
        seen = camera.undistort(np.asarray(corners_midpoint, np.float64)[np.newaxis])[0]
        ray = np.linalg.solve(camera.k, np.array([seen[0], seen[1], 1.0]))
        corners = ray * (corners[2] / ray[2])
    centre = corners + pose.rotation @ (face.eyeball_centre(left) - corners_model)
    pixel = camera.undistort(eye.iris_centre[np.newaxis])[0]
    ray = np.linalg.solve(camera.k, np.array([pixel[0], pixel[1], 1.0]))
    ray /= np.linalg.norm(ray)
    along = float(ray @ centre)  # the ray's point nearest the eyeball's centre
    nearest = along * ray
    miss = float(np.linalg.norm(centre - nearest))
    radius = face.eyeball_radius
    if not along > 0.0 or miss > radius * (1.0 + MAX_MISS_FRACTION):
        return None
    if miss >= radius:
        # Just outside (noise): the sphere's point nearest the ray, on its silhouette.
        surface = centre + radius * (nearest - centre) / miss
    else:
        surface = (along - math.sqrt(radius * radius - miss * miss)) * ray  # the near crossing
    direction = surface - centre
    return direction / np.linalg.norm(direction)


def estimate_gaze(landmarks: FaceLandmarks, pose: HeadPose, camera: CameraModel,
                  face: MeanFaceMesh | None = None) -> Gaze | None:
    """Return the face's gaze from both irises (or the one that fits), or None without an iris."""
    face = face or mean_face()
    # (apparent width in pixels, direction) per eye whose iris fits.
    midpoints = eye_centres(landmarks.points)[:, :2]
    eyes = [(_eye_width(landmarks, left), d) for eye, left in ((landmarks.right_eye, False), (landmarks.left_eye, True))
            if eye is not None for d in [eye_direction(eye, left, pose, camera, face, midpoints[int(left)])]
            if d is not None]
    if not eyes:
        return None
    if len(eyes) == 2 and _angle_deg(eyes[0][1], eyes[1][1]) > MAX_EYE_DISAGREEMENT_DEG:
        # A turned head shows its far eye foreshortened near the silhouette, where the iris
        # model is least sure: trust the wider (nearer) eye alone.
        eyes = [max(eyes, key=lambda item: item[0])]
    direction = np.mean([d for _, d in eyes], axis=0)
    direction /= np.linalg.norm(direction)
    return Gaze(direction, angle_to_camera_deg(direction, pose.translation))


def angle_to_camera_deg(direction: np.ndarray, eyes_position: np.ndarray) -> float:
    """Return the angle between a gaze ``direction`` and the line from the eyes to the camera."""
    return _angle_deg(direction, -np.asarray(eyes_position, np.float64))


def gaze_rotation_in_face(direction_in_camera: np.ndarray, pose: HeadPose) -> np.ndarray:
    """
    Return the gaze frame's axes (columns) in the face frame, for a gaze direction in the camera frame.

    z = the gaze; x = the face's right (-y) made perpendicular to z; y = z x x. A gaze straight
    out of the face gives :data:`~.head_pose.GAZE_IN_FACE`, the head-only frame.
    """
    z = pose.rotation.T @ np.asarray(direction_in_camera, np.float64)
    z /= np.linalg.norm(z)
    right = GAZE_IN_FACE[:, 0]
    x = right - (right @ z) * z
    if np.linalg.norm(x) < 1e-6:  # looking straight sideways: take the face's down as the frame's y
        y = GAZE_IN_FACE[:, 1] - (GAZE_IN_FACE[:, 1] @ z) * z
        y /= np.linalg.norm(y)
        return np.column_stack([np.cross(y, z), y, z])
    x /= np.linalg.norm(x)
    return np.column_stack([x, np.cross(z, x), z])


def _eye_width(landmarks: FaceLandmarks, left: bool) -> float:
    """Return an eye's corner-to-corner distance in the image (pixels): small when seen from the side."""
    corners = (LEFT_EYE_INNER, LEFT_EYE_OUTER) if left else (RIGHT_EYE_INNER, RIGHT_EYE_OUTER)
    return float(np.linalg.norm(landmarks.points[corners[0], :2] - landmarks.points[corners[1], :2]))


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cosine = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(float(np.clip(cosine, -1.0, 1.0))))


class GazeTracker:
    """
    Each track's gaze, smoothed over time (One-Euro, like the head pose; one per image stream).

    The direction is smoothed in the face frame (where the eyes move), then turned by the
    frame's (smoothed) head pose, so a head turning with still eyes does not lag twice.
    """

    def __init__(self, parameters: OneEuroParameters = OneEuroParameters()) -> None:
        self.parameters = parameters
        self._filters: dict[str, OneEuroFilter] = {}
        self._last: dict[str, Gaze] = {}

    def set_parameters(self, parameters: OneEuroParameters) -> None:
        self.parameters = parameters
        for one_filter in self._filters.values():
            one_filter.parameters = parameters

    def last(self, track_id: str) -> Gaze | None:
        """Return the track's latest smoothed gaze (also while it is missed), or None."""
        return self._last.get(track_id)

    def update_frame(self, faces: Iterable[tuple[str, FaceLandmarks | None]], poses: Mapping[str, HeadPose],
                     live_track_ids: Sequence[str], camera: CameraModel, time_s: float) -> dict[str, Gaze]:
        """
        Return track id -> smoothed gaze of this frame's faces whose irises fit.

        ``faces``: (track id, its landmarks or None) of the faces seen; ``poses``: the tracks'
        smoothed head poses. A face without a pose, irises or a fit has no gaze this frame.
        """
        results: dict[str, Gaze] = {}
        for track_id, landmarks in faces:
            pose = poses.get(track_id)
            if landmarks is None or pose is None:
                continue
            gaze = estimate_gaze(landmarks, pose, camera)
            if gaze is None:
                continue
            if track_id not in self._filters:
                self._filters[track_id] = OneEuroFilter(self.parameters)
            in_face = self._filters[track_id](pose.rotation.T @ gaze.direction, time_s)
            direction = pose.rotation @ (in_face / np.linalg.norm(in_face))
            results[track_id] = self._last[track_id] = Gaze(direction,
                                                            angle_to_camera_deg(direction, pose.translation))
        live = set(live_track_ids)
        for store in (self._filters, self._last):
            for track_id in set(store) - live:
                del store[track_id]
        return results
