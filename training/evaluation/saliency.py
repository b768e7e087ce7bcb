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

"""Guided back-propagation (the paper's visualisation), computed in a graph: which pixels raise a class score."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np


@contextmanager
def guided_relu_patched(model) -> Iterator[None]:
    """
    Within the block, every ReLU of the model back-propagates the guided way.

    A guided ReLU passes gradient back only where both its input and the incoming gradient
    are positive; the model's activations are restored on leaving the block.
    """
    import keras
    import tensorflow as tf

    @tf.custom_gradient
    def guided_relu(x):
        def grad(dy):
            return dy * tf.cast(dy > 0, dy.dtype) * tf.cast(x > 0, dy.dtype)
        return tf.nn.relu(x), grad

    patched = [layer for layer in model.layers if getattr(layer, "activation", None) is keras.activations.relu]
    for layer in patched:
        layer.activation = guided_relu
    try:
        yield
    finally:
        for layer in patched:
            layer.activation = keras.activations.relu


def guided_backprop(model, image: np.ndarray, class_index: int) -> np.ndarray:
    """Return the guided-backprop gradient of the class probability w.r.t. a model-ready image [H, W, C]."""
    import tensorflow as tf

    # In a graph only the gradient w.r.t. the image is computed. Eager mode also computes every
    # conv's filter gradient: the oneDNN kernel that crashed (training/runtime/tensorflow_runtime.py).
    @tf.function
    def input_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = model(x, training=False)[:, class_index]
        return tape.gradient(score, x)

    with guided_relu_patched(model):  # traced inside the block, so the graph holds the guided ReLUs
        return input_gradient(tf.convert_to_tensor(image[None].astype(np.float32))).numpy()[0]


def to_picture(gradient: np.ndarray) -> np.ndarray:
    """Gradient -> uint8 picture (centred on grey, clipped at 3 standard deviations)."""
    g = gradient.squeeze()
    g = (g - g.mean()) / (g.std() + 1e-8) * 0.15 + 0.5
    return (np.clip(g, 0, 1) * 255).astype(np.uint8)


def save_figure(face_uint8: np.ndarray, gradient: np.ndarray, title: str, path: Path | str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(5, 2.8))
    axes[0].imshow(face_uint8, cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("input")
    axes[1].imshow(to_picture(gradient), cmap="gray", vmin=0, vmax=255)
    axes[1].set_title("guided backprop")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
