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
Renders of a textured 3-D head turned by a known rotation, to check the head pose.

We have no head-pose data set, so we make one: the astronaut photo (face_perception/data)
is wrapped onto a 3-D head surface and rendered through a pinhole camera at any pose. The
head's front is half an ellipsoid (150 mm wide, 230 mm high, 170 mm deep, so that the ears'
tragions lie 50-80 mm behind the eyes, as on a real head) with a nose and lips raised from
it and eye sockets sunk into it, placed so that the photo's eyes (from BlazeFace) sit 63 mm
apart. (A flatter super-ellipsoid put the ears only 20-40 mm behind the eyes, and the yaw
measured on it came out 30% low: the check's geometry matters as much as the estimator's.)
Its shape is our own and not :data:`head_pose.MEAN_FACE`, so a pose measured on it carries a
real model mismatch, as a real face does; the detector (BlazeFace) then finds the keypoints
on the render as it would on a camera image.

Each render is a forward splat of the photo's pixels (supersampled 2x, nearest surface
wins) with the remaining holes filled from their neighbours, over a plain background.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from face_perception.geometry.head_pose import EYE_DISTANCE_M
from face_perception.ros.demo_frames import load_demo_image

# Head front (face frame, metres): half width, half height, depth, the outline's exponent
# (2: an ellipsoid), and its centre's height relative to the eyes.
HEAD_HALF_WIDTH = 0.075
HEAD_HALF_HEIGHT = 0.115
HEAD_DEPTH = 0.17
HEAD_EXPONENT = 2.0
HEAD_CENTRE_Z = -0.03
# (y, z, height, sigma_y, sigma_z) bumps (positive) and dents (negative), z from the eyes.
_RELIEF = (
    (0.0, -0.030, 0.024, 0.009, 0.016),   # nose, toward its tip
    (0.0, -0.005, 0.008, 0.006, 0.012),   # nasal bridge
    (0.0, -0.068, 0.006, 0.016, 0.006),   # lips
    (-0.0315, 0.0, -0.007, 0.011, 0.008),  # eye sockets
    (0.0315, 0.0, -0.007, 0.011, 0.008),
)
BACKGROUND_BGR = (110, 120, 125)


@dataclass(frozen=True)
class TexturedHead:
    """Surface points (face frame, metres), their colours, and the eyes' midpoint."""

    points: np.ndarray  # Nx3
    colours: np.ndarray  # Nx3 uint8 BGR
    eye_midpoint: np.ndarray  # 3, the face frame origin the render's truth refers to


def surface_depth(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Return the head surface's x (forward) at (y, z); NaN outside the head's outline."""
    inside = 1.0 - np.abs(y / HEAD_HALF_WIDTH) ** HEAD_EXPONENT - np.abs((z - HEAD_CENTRE_Z) / HEAD_HALF_HEIGHT) ** 2
    depth = np.where(inside > 0, HEAD_DEPTH * np.power(np.clip(inside, 0, None), 1.0 / HEAD_EXPONENT), np.nan)
    for cy, cz, height, sy, sz in _RELIEF:
        depth = depth + height * np.exp(-0.5 * (((y - cy) / sy) ** 2 + ((z - cz) / sz) ** 2))
    return depth


@lru_cache(maxsize=1)
def astronaut_head() -> TexturedHead:
    """Return the astronaut photo on the head surface (its eyes found by BlazeFace once)."""
    from face_perception.detection.blazeface import BlazeFaceDetector

    photo = load_demo_image()
    faces = BlazeFaceDetector("short_range", 0.5, 2.0).detect(photo)
    if not faces or faces[0].keypoints is None:
        raise RuntimeError("BlazeFace found no face in the astronaut photo")
    right_eye, left_eye = (np.asarray(p, np.float64) for p in faces[0].keypoints[:2])
    eye_mid = 0.5 * (right_eye + left_eye)
    metres_per_pixel = EYE_DISTANCE_M / float(np.hypot(*(left_eye - right_eye)))
    # 2x supersampled photo grid -> (y, z) on the face plane.
    step = 0.5
    us, vs = np.meshgrid(np.arange(0, photo.shape[1], step), np.arange(0, photo.shape[0], step))
    y = (us - eye_mid[0]) * metres_per_pixel  # image right = the person's left = +y
    z = -(vs - eye_mid[1]) * metres_per_pixel
    depth = surface_depth(y, z)
    keep = np.isfinite(depth)
    colours = photo[np.clip(vs[keep].astype(int), 0, photo.shape[0] - 1), np.clip(us[keep].astype(int), 0,
                                                                                  photo.shape[1] - 1)]
    points = np.column_stack([depth[keep], y[keep], z[keep]])
    eye_depth = float(surface_depth(np.array([0.0315]), np.array([0.0]))[0])
    return TexturedHead(points, colours, np.array([eye_depth, 0.0, 0.0]))


def render_head(rotation: np.ndarray, translation: np.ndarray, k: np.ndarray, width: int = 640, height: int = 480,
                head: TexturedHead | None = None) -> np.ndarray:
    """
    Render the head with its face frame at a pose in the camera frame, as a BGR image.

    Return the head with its face frame at (``rotation``, ``translation``) in the camera frame,
    where ``translation`` places the eye midpoint (the face frame origin), as a BGR image.
    """
    head = head or astronaut_head()
    camera_points = (head.points - head.eye_midpoint) @ np.asarray(rotation).T + np.asarray(translation)
    # Back-facing surface (normal away from the camera) is hidden by the z-buffer anyway.
    uvw = camera_points @ np.asarray(k).T
    u = np.round(uvw[:, 0] / uvw[:, 2]).astype(int)
    v = np.round(uvw[:, 1] / uvw[:, 2]).astype(int)
    visible = (uvw[:, 2] > 0) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
    u, v, depth, colours = u[visible], v[visible], camera_points[visible, 2], head.colours[visible]
    order = np.argsort(-depth)  # far first: the nearest surface is written last and wins
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND_BGR
    filled = np.zeros((height, width), np.uint8)
    image[v[order], u[order]] = colours[order]
    filled[v[order], u[order]] = 1
    # Holes where the surface is stretched: fill from the neighbours, inside the head only.
    head_mask = cv2.morphologyEx(filled, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    holes = (head_mask > 0) & (filled == 0)
    if holes.any():
        image = cv2.inpaint(image, holes.astype(np.uint8), 2, cv2.INPAINT_TELEA)
    return image


# The eye opening's outline on the mesh (lid margins, corner to corner and back), per eye.
_RIGHT_EYE_OUTLINE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
_LEFT_EYE_OUTLINE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
# Rendered eyeballs: a human eye's radius, its visible iris (11.8 mm across) and pupil.
EYEBALL_RADIUS_M = 0.012
IRIS_RADIUS_M = 0.0059
PUPIL_RADIUS_M = 0.002
# The eyeball's front sits this far in front of the eye socket's surface, under the lids.
EYEBALL_PROTRUSION_M = 0.002
PUPIL_BGR = (25, 20, 20)


def gaze_direction_in_face(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Return the unit gaze in the face frame: out of the face, turned to the person's left by yaw, up by pitch."""
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    return np.array([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), np.sin(pitch)])


@lru_cache(maxsize=1)
def _photo_eyes() -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """Return the photo's eye openings (face-frame (y, z) polygons), iris colour and sclera colour (BGR)."""
    from face_perception.detection.blazeface import BlazeFaceDetector
    from face_perception.detection.face_mesh import FaceMeshLandmarker

    photo = load_demo_image()
    detection = BlazeFaceDetector("short_range", 0.5, 2.0).detect(photo)[0]
    mesher = FaceMeshLandmarker(irises=True)
    landmarks = mesher.measure(photo, detection)
    landmarks = mesher.measure(photo, detection, landmarks)
    right_eye, left_eye = (np.asarray(p, np.float64) for p in detection.keypoints[:2])
    eye_mid = 0.5 * (right_eye + left_eye)
    metres_per_pixel = EYE_DISTANCE_M / float(np.hypot(*(left_eye - right_eye)))
    openings = tuple((landmarks.points[list(outline), :2] - eye_mid) * metres_per_pixel * np.array([1.0, -1.0])
                     for outline in (_RIGHT_EYE_OUTLINE, _LEFT_EYE_OUTLINE))
    iris_pixels, sclera_pixels = [], []
    for eye, outline in ((landmarks.right_eye, _RIGHT_EYE_OUTLINE), (landmarks.left_eye, _LEFT_EYE_OUTLINE)):
        mask = np.zeros(photo.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(landmarks.points[list(outline), :2]).astype(np.int32)], 1)
        iris = np.zeros_like(mask)
        cv2.circle(iris, tuple(int(round(v)) for v in eye.iris_centre), int(round(eye.iris_radius)), 1, -1)
        iris_pixels.append(photo[(mask > 0) & (iris > 0)])
        sclera_pixels.append(photo[(mask > 0) & (iris == 0)])
    iris_colour = np.median(np.concatenate(iris_pixels), axis=0)
    # The sclera's brightest half: lashes and lid shadow darken the rest of the opening.
    sclera = np.concatenate(sclera_pixels)
    sclera_colour = np.median(sclera[sclera.sum(axis=1) >= np.median(sclera.sum(axis=1))], axis=0)
    return openings, iris_colour.astype(np.uint8), sclera_colour.astype(np.uint8)


def head_with_eyes(gaze_yaw_deg: float, gaze_pitch_deg: float) -> TexturedHead:
    """
    Return the astronaut head with rendered eyeballs looking in a known direction (face frame).

    The photo's eyes are cut out of the surface (the openings between the lids, from the face
    mesh on the photo) and an eyeball is placed behind each opening: a 12 mm sphere with an
    iris and a pupil of the photo's colours, turned by (yaw to the person's left, pitch up),
    both eyes parallel (a far target). The eyeball's points are kept where they lie inside
    the opening seen straight on, so the lids frame them as on a face.
    """
    head = astronaut_head()
    openings, iris_colour, sclera_colour = _photo_eyes()
    gaze = gaze_direction_in_face(gaze_yaw_deg, gaze_pitch_deg)
    keep = np.ones(len(head.points), bool)
    points, colours = [], []
    # Sphere samples about 0.25 mm apart over the front half.
    polar, azimuth = np.meshgrid(np.linspace(0.0, np.pi / 2, 80), np.linspace(-np.pi, np.pi, 320))
    unit = np.column_stack([np.cos(polar).ravel(), (np.sin(polar) * np.cos(azimuth)).ravel(),
                            (np.sin(polar) * np.sin(azimuth)).ravel()])
    for opening in openings:
        inside_surface = _inside(opening, head.points[:, 1:])
        keep &= ~inside_surface
        centre_yz = opening.mean(axis=0)
        front = float(surface_depth(np.array([centre_yz[0]]), np.array([centre_yz[1]]))[0])
        centre = np.array([front + EYEBALL_PROTRUSION_M - EYEBALL_RADIUS_M, *centre_yz])
        sphere = centre + EYEBALL_RADIUS_M * unit
        visible = _inside(opening, sphere[:, 1:])
        sphere, directions = sphere[visible], unit[visible]
        # Distance from the gaze axis along the sphere: iris and pupil are caps about it.
        off_axis = EYEBALL_RADIUS_M * np.sqrt(np.clip(1.0 - (directions @ gaze) ** 2, 0.0, None))
        facing = directions @ gaze > 0
        colour = np.where(((off_axis <= IRIS_RADIUS_M) & facing)[:, None], iris_colour, sclera_colour)
        colour[(off_axis <= PUPIL_RADIUS_M) & facing] = PUPIL_BGR
        points.append(sphere)
        colours.append(colour.astype(np.uint8))
    return TexturedHead(np.vstack([head.points[keep], *points]), np.vstack([head.colours[keep], *colours]),
                        head.eye_midpoint)


def _inside(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Which of ``points`` (Nx2) lie inside ``polygon`` (Mx2)."""
    scale = 1e5  # OpenCV's polygon test on integer-like coordinates: metres -> 10 um
    contour = np.round(polygon * scale).astype(np.int32).reshape(-1, 1, 2)
    x0, y0, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h + 2, w + 2), np.uint8)
    cv2.fillPoly(mask, [contour - np.array([x0 - 1, y0 - 1])], 1)
    pixels = np.round(points * scale).astype(np.int64) - np.array([x0 - 1, y0 - 1])
    inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < w + 2) & (pixels[:, 1] >= 0) & (pixels[:, 1] < h + 2)
    result = np.zeros(len(points), bool)
    result[inside] = mask[pixels[inside, 1], pixels[inside, 0]] > 0
    return result
