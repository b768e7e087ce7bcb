"""Face crops to model input: margin, clip, resize, normalise, batch.

All faces of a frame go into ONE float32 array [N, H, W, C] so each model runs once per frame;
C is 1 for a grey model and 3 (R, G, B) for an rgb one, as its card says (``input.color``).

Crops are views of the frame: grey crops of the grey frame, colour crops of the BGR (or BGRA)
frame as OpenCV holds it. A colour crop is resized as it is and only the small resized face is
put into R, G, B order, so an rgb model costs no full-frame colour conversion. A grey crop
given to an rgb model (a mono camera) is replicated into all three channels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from face_perception.model_card import COLOR_CHANNELS, ModelCard


@dataclass(frozen=True)
class InputSpec:
    """What a model needs from a crop (from its card): size, colour and ``pixel * scale + offset``."""

    height: int
    width: int
    scale: float
    offset: float
    color: str = "gray"  # "gray" or "rgb"

    @classmethod
    def from_card(cls, card: ModelCard) -> "InputSpec":
        return cls(card.input_height, card.input_width, card.scale, card.offset, card.color)

    @property
    def channels(self) -> int:
        return COLOR_CHANNELS[self.color]


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


def crop_faces(image: np.ndarray, boxes: Sequence[Sequence[float]], margin: float) -> list[np.ndarray]:
    """Views of the image around each box (with margin, clipped to the image).

    ``image`` is grey HxW or colour HxWx3 (BGR) / HxWx4 (BGRA); the crops keep its layout.
    """
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"crop_faces expects an HxW grey or HxWx3/4 BGR(A) image, got shape {image.shape}")
    height, width = image.shape[:2]
    crops = []
    for box in boxes:
        x0, y0, x1, y1 = crop_box_with_margin(box, margin, width, height)
        crops.append(image[y0:y1, x0:x1])
    return crops


def build_batch(crops: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """float32 [N, H, W, C] model input from uint8 crops (N may be 0).

    Grey specs take grey HxW crops. rgb specs take BGR(A) crops (put into R, G, B order) or
    grey ones (replicated into the three channels).
    """
    channels = spec.channels
    batch = np.empty((len(crops), spec.height, spec.width, channels), dtype=np.float32)
    for index, crop in enumerate(crops):
        # INTER_AREA averages when shrinking (no aliasing); linear when a small face is enlarged.
        shrinking = crop.shape[0] >= spec.height and crop.shape[1] >= spec.width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        resized = cv2.resize(crop, (spec.width, spec.height), interpolation=interpolation)
        if resized.ndim == 2:  # grey: one channel, or the same grey in R, G and B
            batch[index] = resized[:, :, None]
        elif channels == 3:
            batch[index] = resized[:, :, 2::-1]  # B, G, R(, A) -> R, G, B
        else:
            raise ValueError(f"a grey model input needs grey crops, got a crop of shape {crop.shape}")
    batch *= np.float32(spec.scale)
    batch += np.float32(spec.offset)
    return batch


def preprocess_faces(
    image: np.ndarray, boxes: Sequence[Sequence[float]], margin: float, spec: InputSpec
) -> np.ndarray:
    """Crop every box with margin and return one normalised batch for a model with ``spec``.

    ``image`` is grey HxW or BGR(A) HxWx3/4: a grey spec gets grey crops (BGR2GRAY of the
    image), an rgb spec colour crops (or the grey replicated, for a grey image).
    """
    if spec.color == "gray" and image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    return build_batch(crop_faces(image, boxes, margin), spec)
