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
Face crops to model input: framing (face_perception.classification.framing), normalise, batch.

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

from face_perception.classification.framing import (
    BoxFraming,
    crop_box_with_margin,
    FaceFraming,
    framing_from_card,
    resize_crop,
)
from face_perception.classification.model_card import COLOR_CHANNELS, ModelCard
from face_perception.detection.detection import Detection

__all__ = ["InputSpec", "build_batch", "crop_box_with_margin", "crop_faces", "frame_faces", "preprocess_faces"]


@dataclass(frozen=True)
class InputSpec:
    """
    What a model needs from a crop, from its card.

    What a model needs from a crop (from its card): size, colour, ``pixel * scale + offset``
    and the framing that cuts the face; ``framing`` None = the card names none, and the node's
    box framing with ``classification.crop_margin`` applies (cards from before framings).
    """

    height: int
    width: int
    scale: float
    offset: float
    color: str = "gray"  # "gray" or "rgb"
    framing: FaceFraming | None = None

    @classmethod
    def from_card(cls, card: ModelCard) -> "InputSpec":
        framing = framing_from_card(card.framing, 0.0, f"model card {card.path}") if card.framing else None
        return cls(card.input_height, card.input_width, card.scale, card.offset, card.color, framing)

    @property
    def channels(self) -> int:
        return COLOR_CHANNELS[self.color]

    def framing_or(self, crop_margin: float) -> FaceFraming:
        """Return the card's framing, or the box framing with ``crop_margin`` when it names none."""
        return self.framing if self.framing is not None else BoxFraming(crop_margin)


def crop_faces(image: np.ndarray, boxes: Sequence[Sequence[float]], margin: float) -> list[np.ndarray]:
    """
    View of the image around each box (with margin, clipped to the image): the box framing before resizing.

    ``image`` is grey HxW or colour HxWx3 (BGR) / HxWx4 (BGRA); the crops keep its layout.
    """
    _check_layout(image)
    height, width = image.shape[:2]
    crops = []
    for box in boxes:
        x0, y0, x1, y1 = crop_box_with_margin(box, margin, width, height)
        crops.append(image[y0:y1, x0:x1])
    return crops


def _check_layout(image: np.ndarray) -> None:
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"face crops need an HxW grey or HxWx3/4 BGR(A) image, got shape {image.shape}")


def frame_faces(image: np.ndarray, detections: Sequence[Detection], spec: InputSpec, crop_margin: float,
                box_prior: np.ndarray | None = None) -> list[np.ndarray]:
    """
    Cut every detection's face by the spec's framing at the model's input size.

    Every detection's face cut by the spec's framing at the model's input size, in the
    image's layout (grey, or BGR(A)). ``box_prior``: the detector's keypoint layout in its box,
    for detections without keypoints; ``crop_margin``: for specs whose card names no framing.
    """
    _check_layout(image)
    framing = spec.framing_or(crop_margin)
    return [framing.cut(image, detection, spec.width, spec.height, box_prior) for detection in detections]


def build_batch(crops: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """
    float32 [N, H, W, C] model input from uint8 crops (N may be 0).

    Grey specs take grey HxW crops. rgb specs take BGR(A) crops (put into R, G, B order) or
    grey ones (replicated into the three channels).
    """
    channels = spec.channels
    batch = np.empty((len(crops), spec.height, spec.width, channels), dtype=np.float32)
    for index, crop in enumerate(crops):
        sized = crop.shape[:2] == (spec.height, spec.width)
        resized = crop if sized else resize_crop(crop, spec.width, spec.height)
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
    """
    Crop every box with margin and return one normalised batch for a model with ``spec``.

    ``image`` is grey HxW or BGR(A) HxWx3/4: a grey spec gets grey crops (BGR2GRAY of the
    image), an rgb spec colour crops (or the grey replicated, for a grey image).
    """
    if spec.color == "gray" and image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    return build_batch(crop_faces(image, boxes, margin), spec)
