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
The embedded default input: frames built from the astronaut photo shipped in the package.

The photo (Eileen Collins, NASA, public domain; the same image scikit-image ships as
``skimage.data.astronaut``) is cut around the head and pasted, moved and scaled over
time, onto a synthetic background. The demo, the image source node (``source: demo``)
and the benchmark all use these frames, so nothing outside the repository is needed.
"""
from __future__ import annotations

from functools import lru_cache
import math
from pathlib import Path

import cv2
import numpy as np

DEMO_IMAGE_PATH = Path(__file__).resolve().parents[1] / "data" / "astronaut.jpg"  # face_perception/data
# Head and shoulders around the face (x, y, w, h) in the 512x512 photo; the face
# itself is about (177, 67, 93, 93), so the face is ~0.44 of the patch width.
HEAD_REGION = (117, 7, 213, 228)
FACE_FRACTION_OF_PATCH = 93 / 213


@lru_cache(maxsize=1)
def load_demo_image() -> np.ndarray:
    """Return the astronaut photo as a BGR array (read once)."""
    image = cv2.imread(str(DEMO_IMAGE_PATH), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"demo image missing or unreadable: {DEMO_IMAGE_PATH}")
    return image


def head_patch() -> np.ndarray:
    x, y, w, h = HEAD_REGION
    return load_demo_image()[y:y + h, x:x + w]


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Return a smooth colour gradient with mild noise: face-free, but not a flat field."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    blue = 90 + 60 * xs + 0 * ys
    green = 70 + 50 * ys + 0 * xs
    red = 60 + 40 * (1 - xs) * ys
    frame = np.stack([blue, green, red], axis=-1)
    frame += rng.normal(0.0, 4.0, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def paste_head(frame: np.ndarray, center_x: float, center_y: float, face_size: float) -> tuple[int, int, int, int]:
    """Paste the head patch so that the face is ~face_size pixels wide; returns the patch box."""
    patch = head_patch()
    scale = face_size / (FACE_FRACTION_OF_PATCH * patch.shape[1])
    width = max(8, int(round(patch.shape[1] * scale)))
    height = max(8, int(round(patch.shape[0] * scale)))
    resized = cv2.resize(patch, (width, height), interpolation=cv2.INTER_AREA)
    left = int(round(center_x - width / 2))
    top = int(round(center_y - height / 2))
    # Clip the paste to the frame so that faces may enter and leave the picture.
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + width, frame.shape[1]), min(top + height, frame.shape[0])
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = resized[y0 - top:y1 - top, x0 - left:x1 - left]
    return left, top, width, height


def face_layout(num_faces: int, width: int, height: int) -> list[tuple[float, float, float]]:
    """Cell centres and a face size for num_faces faces on a grid that fits the frame."""
    if num_faces < 0:
        raise ValueError(f"num_faces must be >= 0, got {num_faces}")
    if num_faces == 0:
        return []
    columns = math.ceil(math.sqrt(num_faces * width / height))
    rows = math.ceil(num_faces / columns)
    cell_w, cell_h = width / columns, height / rows
    face_size = 0.45 * min(cell_w, cell_h * 0.85)
    layout = []
    for index in range(num_faces):
        row, column = divmod(index, columns)
        layout.append(((column + 0.5) * cell_w, (row + 0.5) * cell_h, face_size))
    return layout


def demo_frame(index: int, width: int = 640, height: int = 480, num_faces: int = 1) -> np.ndarray:
    """Frame ``index`` of the demo sequence: each face drifts and breathes in its own cell."""
    frame = background(width, height)
    for face, (cx, cy, size) in enumerate(face_layout(num_faces, width, height)):
        phase = 2 * math.pi * index / 40 + face
        drift = 0.12 * size
        paste_head(
            frame,
            cx + drift * math.sin(phase),
            cy + 0.5 * drift * math.cos(phase),
            size * (1.0 + 0.12 * math.sin(phase / 2)),
        )
    return frame


def demo_sequence(num_frames: int = 30, width: int = 640, height: int = 480, num_faces: int = 1) -> list[np.ndarray]:
    """``num_frames`` frames of the demo sequence."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    return [demo_frame(index, width, height, num_faces) for index in range(num_frames)]
