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

"""Batched inference with a .tflite model through LiteRT (the runtime's interpreter)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def load_interpreter(path: Path | str):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # older installs
        import tensorflow as tf
        Interpreter = tf.lite.Interpreter
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LiteRT model not found: {path}")
    return Interpreter(model_path=str(path), num_threads=1)


class LiteRTClassifier:
    """Resizes the batch dimension per call, as the node does for all faces of a frame."""

    def __init__(self, path: Path | str) -> None:
        self.interpreter = load_interpreter(path)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.batch = None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.ascontiguousarray(images, dtype=np.float32)
        if self.batch != len(images):
            self.interpreter.resize_tensor_input(self.input["index"], list(images.shape))
            self.interpreter.allocate_tensors()
            self.batch = len(images)
        self.interpreter.set_tensor(self.input["index"], images)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).copy()

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return np.concatenate([self(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
