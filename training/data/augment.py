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
Training-time augmentation: random shift, zoom, rotation and horizontal flip.

Two interchangeable forms: OpenCV in the data loader (default; fast on CPU and GPU backends)
and Keras layers in the training graph. Neither is part of the exported model.
"""
from __future__ import annotations

import keras
from keras import layers
import numpy as np


def build_augmentation(shift: float = 0.1, zoom: float = 0.1, rotation_degrees: float = 10.0,
                       flip: bool = True, photometric: float = 0.0, seed: int = 0) -> keras.Sequential:
    """
    Random shifts, zoom, rotation and horizontal flip; identity at inference time.

    ``photometric`` > 0 adds random contrast and brightness of that strength (on the normalised
    [-1, 1] image): other cameras and lighting than the training set's, e.g. lab-posed photos.
    """
    steps: list[layers.Layer] = []
    if photometric:
        steps.append(layers.RandomContrast(photometric, value_range=(-1.0, 1.0), seed=seed + 4))
        steps.append(layers.RandomBrightness(photometric, value_range=(-1.0, 1.0), seed=seed + 5))
    if flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if rotation_degrees:
        steps.append(layers.RandomRotation(rotation_degrees / 360.0, fill_mode="reflect", seed=seed + 1))
    if zoom:
        steps.append(layers.RandomZoom(zoom, fill_mode="reflect", seed=seed + 2))
    if shift:
        steps.append(layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed + 3))
    return keras.Sequential(steps, name="augmentation")


def random_affine_batch(images: np.ndarray, rng: np.random.Generator, shift: float = 0.1,
                        zoom: float = 0.1, rotation_degrees: float = 10.0, flip: bool = True) -> np.ndarray:
    """
    Augment uint8 grey or colour faces on the host with OpenCV.

    Host-side augmentation of uint8 [N, H, W] grey or [N, H, W, 3] colour faces with OpenCV
    (cheap on any machine); every channel of a face gets the same transform.

    Keras' image-transform layers are very slow on the JAX GPU backend, so the default
    training pipeline augments here, in the data loader, instead of in the graph.
    """
    import cv2

    cv2.setNumThreads(1)  # tiny images: OpenCV's thread pool only fights the trainer for cores
    out = np.empty_like(images)
    h, w = images.shape[1:3]
    for i, image in enumerate(images):
        angle = rng.uniform(-rotation_degrees, rotation_degrees)
        scale = rng.uniform(1.0 - zoom, 1.0 + zoom)
        matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
        matrix[:, 2] += rng.uniform(-shift, shift, size=2) * (w, h)
        warped = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        out[i] = warped[:, ::-1] if flip and rng.random() < 0.5 else warped
    return out


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled, augmented, normalised batches; reproducible from (seed, epoch, batch)."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, batch_size: int, seed: int,
                 augment: bool = True, sample_weights: np.ndarray | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.images, self.targets, self.batch_size = images, targets, batch_size
        self.seed, self.augment, self.sample_weights = seed, augment, sample_weights
        self.epoch = 0
        self.order = self._permutation()

    def _permutation(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))

    def __len__(self) -> int:
        return int(np.ceil(len(self.images) / self.batch_size))

    def __getitem__(self, index: int):
        from training.data.preprocess import normalize

        idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        batch = self._faces(idx, np.random.default_rng([self.seed, self.epoch, index]))
        if self.sample_weights is None:
            return normalize(batch), self.targets[idx]
        return normalize(batch), self.targets[idx], self.sample_weights[idx]

    def _faces(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return the uint8 faces of one batch (subclasses cut them another way)."""
        batch = self.images[idx]
        return random_affine_batch(batch, rng) if self.augment else batch

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._permutation()
