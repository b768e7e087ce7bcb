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
Face classifiers: a LiteRT ``.tflite`` model plus the model card beside it.

The card (``<model>.card.json``) gives labels, input size and normalisation; the model's own
tensor shapes are checked against it on load so a mismatched pair fails at start-up, naming
the file, rather than producing wrong labels at run time.
"""
from __future__ import annotations

from pathlib import Path

from ai_edge_litert.interpreter import Interpreter
import numpy as np

from face_perception.attributes.model_card import load_model_card, ModelCard, ModelCardError
from face_perception.attributes.preprocessing import InputSpec

MODELS_DIRECTORY = Path(__file__).resolve().parents[1] / "models"  # face_perception/models
MODEL_SUFFIX = ".tflite"
CARD_SUFFIX = ".card.json"


class ModelLoadError(ValueError):
    """A model or its card is missing, unreadable or inconsistent; the message names the file."""


def parameter_name(task: str) -> str:
    return f"classification.{task}_model"


def resolve_model_path(configured: str, task: str) -> Path:
    """Return the configured model file, or the package's shipped ``models/<task>.tflite`` if empty."""
    if configured:
        return Path(configured).expanduser()
    return MODELS_DIRECTORY / f"{task}{MODEL_SUFFIX}"


# classification.age_model value that runs without an age model.
NO_MODEL = "none"


def resolve_optional_model_path(configured: str, task: str) -> Path | None:
    """
    Resolve the path of a model the node can run without, None for no model.

    Like :func:`resolve_model_path` for a model the node can run without: ``"none"`` gives
    None, and so does ``""`` while the package ships no ``models/<task>.tflite``.
    """
    if configured == NO_MODEL:
        return None
    path = resolve_model_path(configured, task)
    if not configured and not path.is_file():
        return None
    return path


def card_path_for(model_path: Path | str) -> Path:
    """``x/emotion.tflite`` -> ``x/emotion.card.json``."""
    model_path = Path(model_path)
    name = model_path.name
    stem = name[: -len(MODEL_SUFFIX)] if name.endswith(MODEL_SUFFIX) else model_path.stem
    return model_path.with_name(stem + CARD_SUFFIX)


class FaceClassifier:
    """One LiteRT model; :meth:`predict` runs a whole batch of faces in one interpreter call."""

    def __init__(self, model_path: Path | str, task: str, num_threads: int = 1) -> None:
        self.model_path = Path(model_path)
        self.task = task
        hint = f"(parameter {parameter_name(task)})"
        if not self.model_path.is_file():
            raise ModelLoadError(f"{task} model file {self.model_path} does not exist {hint}")
        self.card_path = card_path_for(self.model_path)
        if not self.card_path.is_file():
            raise ModelLoadError(
                f"model card {self.card_path} for {task} model {self.model_path} does not exist {hint}")
        try:
            self.card: ModelCard = load_model_card(self.card_path)
        except ModelCardError as error:
            raise ModelLoadError(f"{error} {hint}") from error
        if self.card.task != task:
            raise ModelLoadError(
                f"model card {self.card_path} is for task '{self.card.task}', expected '{task}' {hint}")
        try:
            self._interpreter = Interpreter(model_path=str(self.model_path), num_threads=num_threads)
        except (ValueError, RuntimeError) as error:
            raise ModelLoadError(
                f"{task} model file {self.model_path} cannot be loaded by LiteRT: {error} {hint}") from error
        self._check_against_card()
        self._batch_size = 0  # faces the interpreter is sized for; 0 = not sized or run yet

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def batch_size(self) -> int:
        """Faces in the last interpreter call (0 before the first)."""
        return self._batch_size

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec.from_card(self.card)

    def _check_against_card(self) -> None:
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        where = f"{self.task} model {self.model_path} (card {self.card_path})"
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelLoadError(f"{where}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
        self._input, self._output = inputs[0], outputs[0]
        shape = tuple(int(v) for v in self._input["shape"])
        expected = self._expected_input()
        if len(shape) == 4 and shape[3] != expected[2]:
            # A grey model with an rgb card or the reverse: say so rather than quote shapes.
            raise ModelLoadError(
                f"{self.task} model {self.model_path} takes {shape[3]}-channel faces but its card {self.card_path} "
                f"says color '{self.card.color}' ({expected[2]} channel{'s' if expected[2] > 1 else ''}) "
                f"(parameter {parameter_name(self.task)})")
        if len(shape) != 4 or shape[1:] != expected:
            raise ModelLoadError(f"{where}: model input shape {shape} does not match the card's "
                                 f"[batch, {expected[0]}, {expected[1]}, {expected[2]}]")
        if self._input["dtype"] != np.float32:
            raise ModelLoadError(f"{where}: model input type {np.dtype(self._input['dtype']).name} is not float32")
        output_shape = tuple(int(v) for v in self._output["shape"])
        if len(output_shape) != 2 or output_shape[1] != len(self.card.labels):
            raise ModelLoadError(
                f"{where}: model output shape {output_shape} does not match the card's {len(self.card.labels)} labels"
            )

    def _expected_input(self) -> tuple[int, int, int]:
        """(height, width, channels) of one face, from the card."""
        return self.card.input_height, self.card.input_width, self.card.channels

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """
        Return the class probabilities for a preprocessed batch.

        Class probabilities [N, num_labels] for a preprocessed batch [N, H, W, C] (N may be 0);
        C is the card's channel count (1 grey, 3 rgb).
        """
        expected = self._expected_input()
        if batch.ndim != 4 or tuple(batch.shape[1:]) != expected:
            raise ValueError(f"{self.task} batch shape {batch.shape} does not fit model input "
                             f"[N, {expected[0]}, {expected[1]}, {expected[2]}]")
        count = batch.shape[0]
        if count == 0:
            return np.zeros((0, len(self.card.labels)), dtype=np.float32)
        if count != self._batch_size:
            # Resizing re-plans the graph; done only when the number of faces changes.
            self._interpreter.resize_tensor_input(self._input["index"], [count, *expected], strict=False)
            self._interpreter.allocate_tensors()
            self._batch_size = count
        self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(batch, dtype=np.float32))
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output["index"]), dtype=np.float32)
