"""Face crops to model input: margin, clip, resize, normalise, batch.

All faces of a frame go into ONE float32 array [N, H, W, 1] so each model runs once per frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from face_perception.model_card import ModelCard


@dataclass(frozen=True)
class InputSpec:
    """What a model needs from a crop (from its card): size and ``pixel * scale + offset``."""

    height: int
    width: int
    scale: float
    offset: float

    @classmethod
    def from_card(cls, card: ModelCard) -> "InputSpec":
        return cls(card.input_height, card.input_width, card.scale, card.offset)


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


def crop_faces(gray: np.ndarray, boxes: Sequence[Sequence[float]], margin: float) -> list[np.ndarray]:
    """Views of the grey image around each box (with margin, clipped to the image)."""
    if gray.ndim != 2:
        raise ValueError(f"crop_faces expects an HxW grey image, got shape {gray.shape}")
    height, width = gray.shape
    crops = []
    for box in boxes:
        x0, y0, x1, y1 = crop_box_with_margin(box, margin, width, height)
        crops.append(gray[y0:y1, x0:x1])
    return crops


def build_batch(crops: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """float32 [N, H, W, 1] model input from grey uint8 crops (N may be 0)."""
    batch = np.empty((len(crops), spec.height, spec.width, 1), dtype=np.float32)
    for index, crop in enumerate(crops):
        # INTER_AREA averages when shrinking (no aliasing); linear when a small face is enlarged.
        shrinking = crop.shape[0] >= spec.height and crop.shape[1] >= spec.width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        resized = cv2.resize(crop, (spec.width, spec.height), interpolation=interpolation)
        batch[index, :, :, 0] = resized
    batch *= np.float32(spec.scale)
    batch += np.float32(spec.offset)
    return batch


def preprocess_faces(
    gray: np.ndarray, boxes: Sequence[Sequence[float]], margin: float, spec: InputSpec
) -> np.ndarray:
    """Crop every box with margin and return one normalised batch for a model with ``spec``."""
    return build_batch(crop_faces(gray, boxes, margin), spec)
