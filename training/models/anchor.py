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

"""The paper's published Keras models (../shared/anchor), for side-by-side comparison only."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from training.data.preprocess import normalize, resize_batch
from training.paths import DEFAULT_ANCHOR_DIR

ANCHOR_FILES = {"emotion": "fer2013_mini_XCEPTION.102-0.66.hdf5", "gender": "gender_mini_XCEPTION.21-0.95.hdf5"}
# The paper's gender model outputs [woman, man]; ours are [male, female].
ANCHOR_TO_OURS = {"emotion": None, "gender": [1, 0]}
ANCHOR_SIDE = 64


def anchor_path(task: str, anchor_dir: Path | str = DEFAULT_ANCHOR_DIR) -> Path:
    return Path(anchor_dir) / ANCHOR_FILES[task]


def anchor_predict(task: str, images_uint8: np.ndarray, anchor_dir: Path | str = DEFAULT_ANCHOR_DIR) -> np.ndarray:
    """Probabilities in OUR label order for grey uint8 faces (resized to the paper's 64x64, [-1, 1])."""
    import keras

    path = anchor_path(task, anchor_dir)
    if not path.is_file():
        raise FileNotFoundError(f"paper model not found: {path}")
    model = keras.models.load_model(path, compile=False)
    x = normalize(resize_batch(images_uint8, ANCHOR_SIDE))
    probs = model.predict(x, batch_size=256, verbose=0)
    order = ANCHOR_TO_OURS[task]
    return probs if order is None else probs[:, order]
