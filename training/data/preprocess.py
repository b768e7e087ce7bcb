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

"""Pixel preprocessing shared by training, evaluation, export and the model card."""
from __future__ import annotations

import numpy as np

# Model input = pixel_0_255 * SCALE + OFFSET, i.e. [-1, 1]; the card records the same numbers.
SCALE = 1.0 / 127.5
OFFSET = -1.0


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR/colour or grey uint8 image -> grey uint8 [H, W]."""
    import cv2  # lazy: training on a machine without OpenCV needs no resizing

    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    return image


def model_color(model) -> str:
    """Return a Keras model's input colour from its channels: "rgb" for 3, "gray" for 1."""
    channels = int(model.input_shape[-1])
    if channels not in (1, 3):
        raise ValueError(f"model {model.name} takes {channels}-channel images; only 1 (gray) or 3 (rgb) are known")
    return "rgb" if channels == 3 else "gray"


def resize_batch(images: np.ndarray, side: int) -> np.ndarray:
    """Resize uint8 [N, H, W] grey or [N, H, W, 3] colour images to side x side (area filter when shrinking)."""
    if images.shape[1:3] == (side, side):
        return images
    import cv2

    interp = cv2.INTER_AREA if images.shape[1] > side else cv2.INTER_LINEAR
    return np.stack([cv2.resize(img, (side, side), interpolation=interp) for img in images])


def normalize(images: np.ndarray, scale: float = SCALE, offset: float = OFFSET) -> np.ndarray:
    """uint8 [N, H, W] grey -> float32 [N, H, W, 1] model input; [N, H, W, 3] colour keeps its three channels."""
    x = images.astype(np.float32) * np.float32(scale) + np.float32(offset)
    return x[..., None] if x.ndim == 3 else x
