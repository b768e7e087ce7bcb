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
Augmentation for the robot's view of a face, applied while cutting it from its source image.

Each training face is cut anew every time it is drawn, by the node's framing function with a
random framing jitter (scale, shift, roll: what detector boxes and keypoints do from frame to
frame), then degraded the way a robot's camera degrades faces: down-and-up sampling (a far
face), blur (focus, motion), JPEG (compressed transport), brightness, contrast and gamma
(rooms, windows), and mirrored. Nothing here is part of the exported model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from face_perception.classification.framing import EyesMouthFraming, FramingJitter
from training.data.augment import AugmentedBatches


@dataclass(frozen=True)
class RobotView:
    """Strengths of each degradation (0 or probability 0 turns one off)."""

    scale: float = 0.15  # framing scale factor within 1 +- scale
    shift: float = 0.10  # centre shift, fraction of the crop side, each axis
    roll_degrees: float = 15.0
    low_res_probability: float = 0.4
    low_res_sides: tuple[int, int] = (20, 40)  # the face resampled through this many pixels
    blur_probability: float = 0.25
    blur_sigma: tuple[float, float] = (0.3, 1.2)
    jpeg_probability: float = 0.3
    jpeg_quality: tuple[int, int] = (30, 90)
    brightness: float = 0.15  # added, fraction of full scale
    contrast: float = 0.3  # factor within 1 +- contrast around the mean
    gamma: float = 0.3  # exponent within exp(+- gamma)
    flip: bool = True


def robot_view_face(source: np.ndarray, keypoints: np.ndarray, framing: EyesMouthFraming, side: int,
                    color: str, rng: np.random.Generator, view: RobotView = RobotView()) -> np.ndarray:
    """One augmented face (uint8 [side, side] grey or [side, side, 3] RGB) from an RGB source."""
    import cv2

    jitter = FramingJitter(scale=rng.uniform(1 - view.scale, 1 + view.scale),
                           shift_x=rng.uniform(-view.shift, view.shift), shift_y=rng.uniform(-view.shift, view.shift),
                           roll_degrees=rng.uniform(-view.roll_degrees, view.roll_degrees))
    face = framing.cut_keypoints(source, keypoints, side, side, jitter)
    if rng.random() < view.low_res_probability:
        small = int(rng.integers(view.low_res_sides[0], view.low_res_sides[1] + 1))
        if small < side:
            face = cv2.resize(cv2.resize(face, (small, small), interpolation=cv2.INTER_AREA), (side, side),
                              interpolation=cv2.INTER_LINEAR)
    if rng.random() < view.blur_probability:
        face = cv2.GaussianBlur(face, (0, 0), rng.uniform(*view.blur_sigma))
    if rng.random() < view.jpeg_probability:
        quality = int(rng.integers(view.jpeg_quality[0], view.jpeg_quality[1] + 1))
        ok, encoded = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            face = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    values = face.astype(np.float32) / 255.0
    values = np.clip(values, 0.0, 1.0) ** np.exp(rng.uniform(-view.gamma, view.gamma))
    mean = values.mean()
    values = (values - mean) * rng.uniform(1 - view.contrast, 1 + view.contrast) + mean
    values += rng.uniform(-view.brightness, view.brightness)
    face = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if view.flip and rng.random() < 0.5:
        face = face[:, ::-1]
    if color == "gray":
        face = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_RGB2GRAY)
    return face


class FramedBatches(AugmentedBatches):
    """
    Shuffled batches of faces cut afresh from their sources.

    Shuffled batches of faces cut afresh from their sources with :func:`robot_view_face`;
    reproducible from (seed, epoch, batch).
    """

    def __init__(self, sources: np.ndarray, keypoints: np.ndarray, targets: np.ndarray, batch_size: int,
                 seed: int, framing: EyesMouthFraming, side: int, color: str, view: RobotView = RobotView(),
                 sample_weights: np.ndarray | None = None, **kwargs) -> None:
        super().__init__(sources, targets, batch_size, seed, augment=False, sample_weights=sample_weights, **kwargs)
        self.keypoints, self.framing, self.side, self.color, self.view = keypoints, framing, side, color, view

    def _faces(self, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import cv2

        cv2.setNumThreads(1)
        return np.stack([robot_view_face(self.images[i], self.keypoints[i], self.framing, self.side, self.color,
                                         rng, self.view) for i in idx])
