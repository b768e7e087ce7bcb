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

"""Debug image: face boxes with track id, gender, emotion, age and engagement drawn on a copy of the frame."""
from __future__ import annotations

import math
from typing import Mapping, Sequence, TYPE_CHECKING

import cv2
import numpy as np

from face_perception.classification.face_model import ExpectedValue
from face_perception.interaction.engagement import DISENGAGED, DISENGAGING, ENGAGED, ENGAGING, LEVEL_NAMES

if TYPE_CHECKING:  # only for type hints; keeps this module free of the model runtime
    from face_perception.pipeline.pipeline import FaceResult

# BGR colours per gender; the box and the label background share it.
_COLORS = {"female": (180, 60, 220), "male": (220, 140, 30), "unknown": (150, 150, 150)}
_TEXT_COLOR = (255, 255, 255)
# BGR per engagement level: a disc in the box's top-right corner (none while unknown).
ENGAGEMENT_COLORS = {DISENGAGED: (160, 160, 160), ENGAGING: (0, 215, 255), ENGAGED: (0, 200, 0),
                     DISENGAGING: (0, 120, 255)}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _font_scale(image_width: int, image_height: int, box_width: int) -> float:
    # Grows with the face and the image, so labels stay legible on 160 px thumbnails and
    # on 4K frames without covering small faces entirely.
    by_image = min(image_width, image_height) / 1000.0
    by_box = box_width / 220.0
    return float(np.clip(max(by_image, by_box), 0.35, 2.0))


def face_label_lines(face: "FaceResult", engagement_level: int | None = None) -> list[str]:
    """Return the track id (and its engagement level, if known), then a line per model output: answer, confidence."""
    lines = [face.track_id]
    if engagement_level in ENGAGEMENT_COLORS:
        lines[0] += f" {LEVEL_NAMES[engagement_level]}"
    for name, output in face.outputs.items():
        if isinstance(output, ExpectedValue):
            if math.isfinite(output.value):  # NaN: a distribution without mass
                lines.append(f"{name} {output.value:.0f} ({output.confidence:.2f})")
        else:
            lines.append(f"{output.label} {output.confidence:.2f}")
    return lines


def draw_annotations(bgr: np.ndarray, faces: Sequence["FaceResult"],
                     engagement_levels: Mapping[str, int] | None = None) -> np.ndarray:
    """
    Return a new BGR image with every face's box and labels; ``bgr`` (or grey) is not modified.

    ``engagement_levels``: track id -> hri_msgs/EngagementLevel level; a known level is named
    after the track id and shown as a disc of its colour (:data:`ENGAGEMENT_COLORS`) in the
    box's top-right corner.
    """
    engagement_levels = engagement_levels or {}
    if bgr.ndim == 2:
        canvas = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    elif bgr.ndim == 3 and bgr.shape[2] == 3:
        canvas = bgr.copy()
    else:
        raise ValueError(f"expected an HxWx3 BGR or HxW grey image, got shape {bgr.shape}")
    height, width = canvas.shape[:2]
    for face in faces:
        x, y, w, h = (int(v) for v in face.box)
        color = _COLORS.get(face.gender, _COLORS["unknown"])
        scale = _font_scale(width, height, w)
        thickness = max(1, int(round(scale * 1.6)))
        box_thickness = max(thickness, int(round(min(width, height) / 360)))
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), color, box_thickness)
        level = engagement_levels.get(face.track_id)
        if level in ENGAGEMENT_COLORS:
            radius = max(3, w // 10)
            cv2.circle(canvas, (x + w - 1 - radius, y + radius), radius, ENGAGEMENT_COLORS[level], cv2.FILLED)
        _draw_label_block(canvas, face_label_lines(face, level), x, y, y + h, scale, thickness, color)
    return canvas


def _draw_label_block(
    canvas: np.ndarray, lines: list[str], x: int, box_top: int, box_bottom: int,
    scale: float, thickness: int, color: tuple[int, int, int],
) -> None:
    sizes = [cv2.getTextSize(line, _FONT, scale, thickness) for line in lines]
    line_height = max(size[0][1] + size[1] for size in sizes) + 2 * thickness
    block_width = max(size[0][0] for size in sizes) + 2 * thickness + 2
    block_height = line_height * len(lines) + thickness
    height, width = canvas.shape[:2]
    # Above the box if it fits, else below it, else inside the top of the box.
    if box_top - block_height >= 0:
        top = box_top - block_height
    elif box_bottom + block_height <= height:
        top = box_bottom
    else:
        top = max(0, box_top)
    left = int(np.clip(x, 0, max(0, width - block_width)))
    cv2.rectangle(canvas, (left, top), (left + block_width, top + block_height), color, cv2.FILLED)
    for index, (line, (_, baseline)) in enumerate(zip(lines, sizes)):
        origin = (left + thickness + 1, top + (index + 1) * line_height - baseline)
        cv2.putText(canvas, line, origin, _FONT, scale, _TEXT_COLOR, thickness, cv2.LINE_AA)
