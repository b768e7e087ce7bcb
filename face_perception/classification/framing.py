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
Face framing: how a detected face becomes a model's input crop. One function for all.

The node and the training scripts cut faces with the same :class:`FaceFraming`, chosen by the
model's card (``input.framing``), so a model sees at run time the faces it learned from.

- ``box``: the detector box grown by ``margin`` x its side on each side, clipped to the image
  and resized (the cut every card had before framings existed; it depends on the detector's
  idea of a box, which differs between Haar and BlazeFace).
- ``eyes_mouth``: a square centred between the eyes and the mouth, its side ``size`` times the
  face scale (the larger of the eye distance and ``eye_mouth_ratio`` x the eye-to-mouth
  distance, so a turned or tilted head keeps its scale), rotated so the eyes are level.
  Keypoints come from the detector (BlazeFace), from a BlazeFace pass inside a Haar box, or,
  when neither has them, from the detector's mean keypoint layout inside its box
  (:data:`BOX_KEYPOINT_PRIORS`). Parts of the square outside the frame repeat the edge pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Mapping, Protocol, Sequence

import cv2
import numpy as np

from face_perception.detection.detection import Detection, KEYPOINT_NAMES

RIGHT_EYE, LEFT_EYE, MOUTH = (KEYPOINT_NAMES.index(name) for name in ("right_eye", "left_eye", "mouth_center"))
# Mean keypoint layout inside each detector's box, as fractions of the box (x, y), for faces
# whose detector measured no keypoints: the medians of BlazeFace's keypoints against each
# detector's box on 500 UTKFace and 500 LFW images, each detector run on the padded chips.
BOX_KEYPOINT_PRIORS: dict[str, np.ndarray] = {
    "haar": np.array([[0.310, 0.392], [0.676, 0.390], [0.499, 0.610], [0.500, 0.786], [0.121, 0.480],
                      [0.872, 0.470]], np.float32),
    "blazeface": np.array([[0.305, 0.331], [0.699, 0.328], [0.508, 0.568], [0.510, 0.754], [0.086, 0.422],
                           [0.918, 0.412]], np.float32),
    # BlazeFace's keypoints against YuNet's box on 997 LFW and UTKFace chips
    # (scripts/measurements/measure_yunet_keypoints.py); YuNet measures its own, so this serves only a box
    # without keypoints.
    "yunet": np.array([[0.248, 0.379], [0.729, 0.378], [0.493, 0.593], [0.497, 0.760], [0.008, 0.458],
                       [0.971, 0.451]], np.float32),
}
# A downscale by more than this in one warp aliases; larger shrinks are pre-filtered (INTER_AREA).
_MAX_WARP_SHRINK = 2.0


class FramingError(ValueError):
    """A framing description (card ``input.framing``) the node cannot produce."""


class FaceFraming(Protocol):
    """Turns (frame, detection) into a ``width`` x ``height`` uint8 crop of the frame's layout."""

    name: str

    def cut(self, image: np.ndarray, detection: Detection, width: int, height: int,
            box_prior: np.ndarray | None = None) -> np.ndarray:
        """
        Return the face of ``detection`` in ``image``, resized to the model's input.

        Return the face of ``detection`` in ``image`` (grey HxW or BGR(A)), resized to the model's
        input. ``box_prior``: the detector's keypoint layout for a detection without keypoints.
        """

    def describe(self) -> dict[str, Any]:
        """Return the card's ``input.framing`` entry (name and parameters)."""


@dataclass(frozen=True)
class BoxFraming:
    """The detector box plus a margin on each side, clipped to the image, resized."""

    margin: float = 0.1
    name: str = "box"

    def cut(self, image: np.ndarray, detection: Detection, width: int, height: int,
            box_prior: np.ndarray | None = None) -> np.ndarray:
        image_h, image_w = image.shape[:2]
        x0, y0, x1, y1 = crop_box_with_margin(detection.box, self.margin, image_w, image_h)
        return resize_crop(image[y0:y1, x0:x1], width, height)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "margin": self.margin}


@dataclass(frozen=True)
class FramingJitter:
    """
    A random change of the framing for training.

    A random change of the framing for training: scale factor, shift (fractions of the
    crop side, along the levelled face axes) and extra roll in degrees.
    """

    scale: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    roll_degrees: float = 0.0


NO_JITTER = FramingJitter()


@dataclass(frozen=True)
class EyesMouthFraming:
    """A square centred and scaled on the eyes and mouth, eyes levelled (module docstring)."""

    # Defaults: UTKFace's own chip framing measured by scripts/measurements/calibrate_framing.py (median
    # chip side 2.46 face scales, centre 0.48 of the way from the eyes to the mouth; eye
    # distance / eye-to-mouth distance 0.93 on UTKFace and 0.92 on LFW).
    size: float = 2.4  # crop side / face scale
    center: float = 0.45  # crop centre = eye midpoint + center x (mouth - eye midpoint)
    eye_mouth_ratio: float = 0.93  # eye distance / eye-to-mouth distance of a frontal face
    name: str = "eyes_mouth"

    def source_square(self, keypoints: np.ndarray, jitter: FramingJitter = NO_JITTER
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """
        Return the crop's centre and axes in source pixels.

        (centre, x axis, y axis) of the crop in source pixels: the axes are the crop's
        half sides as vectors (x: towards the image-right eye, y: towards the chin).
        """
        right_eye, left_eye, mouth = keypoints[RIGHT_EYE], keypoints[LEFT_EYE], keypoints[MOUTH]
        eye_mid = 0.5 * (right_eye + left_eye)
        across = left_eye - right_eye  # image-left eye (the person's right) to image-right eye
        eye_distance = float(np.hypot(*across))
        down = mouth - eye_mid
        eye_mouth = float(np.hypot(*down))
        scale = max(eye_distance, self.eye_mouth_ratio * eye_mouth, 1e-3)
        if eye_distance > 1e-3:
            angle = math.atan2(across[1], across[0])
        else:  # eyes on top of each other (a profile): level from the eye-mouth line instead
            angle = math.atan2(down[1], down[0]) - math.pi / 2
        angle += math.radians(jitter.roll_degrees)
        unit_x = np.array([math.cos(angle), math.sin(angle)], np.float64)
        unit_y = np.array([-unit_x[1], unit_x[0]], np.float64)
        half = 0.5 * self.size * scale * jitter.scale
        centre = eye_mid + self.center * down + 2 * half * (jitter.shift_x * unit_x + jitter.shift_y * unit_y)
        return centre, half * unit_x, half * unit_y

    def cut(self, image: np.ndarray, detection: Detection, width: int, height: int,
            box_prior: np.ndarray | None = None, jitter: FramingJitter = NO_JITTER) -> np.ndarray:
        keypoints = detection_keypoints(detection, box_prior)
        return warp_square(image, *self.source_square(keypoints, jitter), width, height)

    def cut_keypoints(self, image: np.ndarray, keypoints: np.ndarray, width: int, height: int,
                      jitter: FramingJitter = NO_JITTER) -> np.ndarray:
        """:meth:`cut` for keypoints already known (6x2, source pixels): training's entry."""
        return warp_square(image, *self.source_square(np.asarray(keypoints, np.float64), jitter), width, height)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "center": self.center, "eye_mouth_ratio": self.eye_mouth_ratio}


def detection_keypoints(detection: Detection, box_prior: np.ndarray | None) -> np.ndarray:
    """6x2 keypoints of a detection: its own, or ``box_prior`` placed in its box."""
    if detection.keypoints is not None:
        return np.asarray(detection.keypoints, np.float64)
    if box_prior is None:
        raise FramingError("a detection without keypoints needs its detector's box prior for framing")
    x, y, w, h = detection.box
    return np.asarray(box_prior, np.float64) * (w, h) + (x, y)


def warp_square(image: np.ndarray, centre: np.ndarray, axis_x: np.ndarray, axis_y: np.ndarray,
                width: int, height: int) -> np.ndarray:
    """
    Return the square (centre, half-side vectors) of ``image`` resampled to ``width`` x ``height``.

    Large shrinks are pre-filtered with INTER_AREA on the square's bounding region, so a face
    far larger than the model input is averaged, not aliased. Outside the image the edge
    pixels repeat (a face at the frame's edge keeps its own colours).
    """
    side = 2.0 * float(np.hypot(*axis_x))
    shrink = side / max(width, height)
    if shrink > _MAX_WARP_SHRINK:
        corners = np.array([centre + sx * axis_x + sy * axis_y for sx in (-1, 1) for sy in (-1, 1)])
        image_h, image_w = image.shape[:2]
        x0 = int(np.clip(np.floor(corners[:, 0].min()) - 1, 0, image_w - 1))
        y0 = int(np.clip(np.floor(corners[:, 1].min()) - 1, 0, image_h - 1))
        x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 2, x0 + 1, image_w))
        y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 2, y0 + 1, image_h))
        factor = _MAX_WARP_SHRINK / shrink * 0.999
        region = image[y0:y1, x0:x1]
        small_w = max(1, int(round((x1 - x0) * factor)))
        small_h = max(1, int(round((y1 - y0) * factor)))
        image = cv2.resize(region, (small_w, small_h), interpolation=cv2.INTER_AREA)
        scale = np.array([small_w / (x1 - x0), small_h / (y1 - y0)])
        centre = (centre - (x0, y0)) * scale
        axis_x, axis_y = axis_x * scale, axis_y * scale
    # Output pixel (u, v) -> source: centre + ((u + 0.5) / width * 2 - 1) * axis_x + (...) * axis_y.
    to_source = np.empty((2, 3), np.float64)
    to_source[:, 0] = 2.0 * axis_x / width
    to_source[:, 1] = 2.0 * axis_y / height
    to_source[:, 2] = centre - axis_x - axis_y + 0.5 * (to_source[:, 0] + to_source[:, 1]) - 0.5
    return cv2.warpAffine(image, to_source, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def crop_box_with_margin(
    box: Sequence[float], margin: float, image_width: int, image_height: int
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of ``box`` (x, y, w, h) grown by ``margin`` x side on each side, clipped."""
    x, y, w, h = (float(v) for v in box)
    dx, dy = margin * w, margin * h
    x0 = int(np.clip(np.floor(x - dx), 0, image_width - 1))
    y0 = int(np.clip(np.floor(y - dy), 0, image_height - 1))
    x1 = int(np.clip(np.ceil(x + w + dx), x0 + 1, image_width))
    y1 = int(np.clip(np.ceil(y + h + dy), y0 + 1, image_height))
    return x0, y0, x1, y1


def resize_crop(crop: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a crop to the model input: INTER_AREA to shrink (no aliasing), linear to enlarge a small face."""
    shrinking = crop.shape[0] >= height and crop.shape[1] >= width
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


FRAMINGS = {"box": BoxFraming, "eyes_mouth": EyesMouthFraming}
_PARAMETER_RANGES = {
    "box": {"margin": (0.0, 1.0)},
    "eyes_mouth": {"size": (1.0, 5.0), "center": (-0.5, 1.5), "eye_mouth_ratio": (0.3, 3.0)},
}


def framing_from_card(entry: Mapping[str, Any] | None, default_margin: float, where: str) -> FaceFraming:
    """
    Return the framing a card's ``input.framing`` asks for.

    Return the framing a card's ``input.framing`` asks for; a card without one keeps the box
    framing with the node's ``classification.crop_margin`` (the cut before framings existed).
    Raises FramingError naming ``where`` (the card file) for anything the node cannot produce.
    """
    if entry is None:
        return BoxFraming(default_margin)
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise FramingError(f"{where}: input.framing must be an object with a 'name'")
    name = entry["name"]
    if name not in FRAMINGS:
        raise FramingError(f"{where}: input.framing '{name}' is not one this node can produce ({sorted(FRAMINGS)})")
    ranges = _PARAMETER_RANGES[name]
    unknown = set(entry) - set(ranges) - {"name"}
    if unknown:
        raise FramingError(f"{where}: input.framing '{name}' has unknown parameters {sorted(unknown)}")
    values = {}
    for key, (low, high) in ranges.items():
        if key not in entry:
            raise FramingError(f"{where}: input.framing '{name}' lacks '{key}'")
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise FramingError(f"{where}: input.framing.{key} = {value!r} is not a number in {low:g}..{high:g}")
        values[key] = float(value)
    return FRAMINGS[name](**values)
