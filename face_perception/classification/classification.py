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
Face models from their cards: a LiteRT ``.tflite`` model plus the model card beside it.

The card (``<model>.card.json``) gives labels, input size and normalisation; the model's own
tensor shapes are checked against it on load so a mismatched pair fails at start-up, naming
the file, rather than producing wrong labels at run time. :data:`ATTRIBUTES` lists the
models the node runs; :func:`load_face_models` builds each as a
:class:`~face_perception.classification.face_model.FaceModel` that reads as its card says (age
bins: an expected value; otherwise a class distribution).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ai_edge_litert.interpreter import Interpreter
import numpy as np

from face_perception.classification import age
from face_perception.classification.age_groups import AGE_GROUP_NAMES, AgeGroupReader
from face_perception.classification.face_model import ClassDistribution, ExpectedValue
from face_perception.classification.model_card import load_model_card, ModelCard, ModelCardError
from face_perception.classification.preprocessing import InputSpec
from face_perception.parameters import ClassificationConfig

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


GENDER_LABELS = ("female", "male")
# FER-2013 class names; an emotion card's labels must come from these (any order).
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
AGE_BAND_NAMES = tuple(name for name, _, _ in age.AGE_BANDS)


@dataclass(frozen=True)
class Attribute:
    """A face model the node runs: its card's task (the output's name) and what the card must say."""

    task: str
    labels: tuple[str, ...] = ()  # the card's labels must come from these (any order); () = any
    all_labels: bool = False  # ... and must be all of them
    labels_name: str = ""  # how an error names ``labels``
    optional: bool = False  # the node runs without it: "none", or "" while the package ships none
    min_confidence: str = ""  # the ClassificationConfig field below which its answer reads as unknown

    @property
    def parameter(self) -> str:
        return parameter_name(self.task)

    def configured(self, config: ClassificationConfig) -> tuple[str, int]:
        """Return what loading the model depends on: the parameter's value and the thread count."""
        return getattr(config, f"{self.task}_model"), config.num_threads

    def model_path(self, config: ClassificationConfig) -> Path | None:
        """Return the model file to load; None for an optional model the configuration leaves out."""
        configured = getattr(config, f"{self.task}_model")
        if self.optional:
            return resolve_optional_model_path(configured, self.task)
        return resolve_model_path(configured, self.task)


# In the order of the vision_msgs hypotheses (ros_messages.detection_array).
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("gender", GENDER_LABELS, all_labels=True, min_confidence="gender_min_confidence"),
    Attribute("emotion", EMOTION_LABELS, labels_name="FER-2013 names"),
    Attribute("age", optional=True),
)


class CardModel:
    """A :class:`FaceClassifier` as a FaceModel; the subclass says how its output vector reads."""

    def __init__(self, classifier: FaceClassifier) -> None:
        self.classifier = classifier

    @property
    def name(self) -> str:
        return self.classifier.task

    @property
    def labels(self) -> tuple[str, ...]:
        return self.classifier.labels

    @property
    def input_spec(self) -> InputSpec:
        return self.classifier.input_spec

    @property
    def model_path(self) -> Path:
        return self.classifier.model_path

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return self.classifier.predict(batch)


class ClassifierModel(CardModel):
    """A model whose output is a distribution over its card's labels (emotion, gender)."""

    def __init__(self, classifier: FaceClassifier, min_confidence: float = 0.0) -> None:
        super().__init__(classifier)
        self.min_confidence = min_confidence

    def read(self, probabilities: Sequence[float]) -> ClassDistribution:
        return ClassDistribution(self.labels, tuple(float(p) for p in probabilities), self.min_confidence)


class BinnedValueModel(CardModel):
    """A model whose output is a distribution over its card's age bins: read as years, bands and groups."""

    def __init__(self, classifier: FaceClassifier, child_threshold: float = 0.5) -> None:
        super().__init__(classifier)
        card = classifier.card
        self.groups = AgeGroupReader(card.age_bin_centers, card.age_bin_edges, card.child_calibration)
        self.child_threshold = child_threshold

    def read(self, probabilities: Sequence[float]) -> ExpectedValue:
        # The expectation of the (smoothed) distribution, not a smoothed expectation.
        centers = self.classifier.card.age_bin_centers
        bands = age.band_probabilities(probabilities, centers)
        groups = self.groups.group_probabilities(probabilities)
        return ExpectedValue(age.expected_age(probabilities, centers), AGE_BAND_NAMES, tuple(float(b) for b in bands),
                             AGE_GROUP_NAMES, tuple(float(g) for g in groups),
                             self.groups.child_probability(probabilities), self.child_threshold)


def load_classifier(attribute: Attribute, model_path: Path, num_threads: int) -> FaceClassifier:
    """Load a model and its card, refusing a card whose labels the attribute does not allow."""
    classifier = FaceClassifier(model_path, attribute.task, num_threads)
    labels, allowed = set(classifier.labels), set(attribute.labels)
    where = f"model card {classifier.card_path}: {attribute.task} labels"
    if allowed and attribute.all_labels and labels != allowed:
        raise ModelLoadError(
            f"{where} {classifier.labels} must be {attribute.labels} in some order (parameter {attribute.parameter})")
    if allowed and not labels <= allowed:
        raise ModelLoadError(f"{where} {sorted(labels - allowed)} are not {attribute.labels_name} {attribute.labels} "
                             f"(parameter {attribute.parameter})")
    return classifier


def card_model(attribute: Attribute, classifier: FaceClassifier, config: ClassificationConfig) -> CardModel:
    """Return the FaceModel a loaded classifier is: its card's age bins make it a binned value."""
    if classifier.card.age_bin_centers is not None:  # parse_model_card requires them of age cards
        return BinnedValueModel(classifier, float(config.child_threshold))
    min_confidence = float(getattr(config, attribute.min_confidence)) if attribute.min_confidence else 0.0
    return ClassifierModel(classifier, min_confidence)


def load_face_models(config: ClassificationConfig, previous: Mapping[str, CardModel] | None = None,
                     previous_config: ClassificationConfig | None = None) -> dict[str, CardModel]:
    """
    Build the configured face models by name, in :data:`ATTRIBUTES` order.

    An optional model the configuration leaves out is absent. A model of ``previous`` (built
    from ``previous_config``) keeps its loaded interpreter while its file and thread count
    stay the same; only how it reads (``min_confidence``, ``child_threshold``) follows the new
    configuration.
    """
    models = {}
    for attribute in ATTRIBUTES:
        if previous_config is not None and attribute.configured(config) == attribute.configured(previous_config):
            kept = (previous or {}).get(attribute.task)
            if kept is not None:
                models[attribute.task] = card_model(attribute, kept.classifier, config)
            continue
        path = attribute.model_path(config)
        if path is not None:
            models[attribute.task] = card_model(attribute, load_classifier(attribute, path, config.num_threads), config)
    return models
