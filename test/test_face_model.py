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

"""The face-model interface: outputs, models built from their cards, and a model the pipeline has never heard of."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from std_msgs.msg import Header

from conftest import AGE_CENTERS, AGE_LABELS, GENDER_LABELS
from face_perception.classification import age
from face_perception.classification.classification import (
    ATTRIBUTES,
    BinnedValueModel,
    ClassifierModel,
    load_face_models,
)
from face_perception.classification.face_model import ClassDistribution, ExpectedValue, UNKNOWN_LABEL
from face_perception.classification.preprocessing import InputSpec
from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline
from face_perception.ros import ros_messages
from face_perception.ros.annotation import face_label_lines


def test_class_distribution_reads_unknown_below_its_min_confidence() -> None:
    sure = ClassDistribution(("male", "female"), (0.3, 0.7), min_confidence=0.6)
    assert sure.label == "female" and sure.confidence == pytest.approx(0.7)
    unsure = ClassDistribution(("male", "female"), (0.45, 0.55), min_confidence=0.6)
    assert unsure.label == UNKNOWN_LABEL and unsure.confidence == pytest.approx(0.55)
    assert unsure.as_dict() == {"male": 0.45, "female": 0.55}  # the card's order


def test_expected_value_confidence_is_its_most_likely_band() -> None:
    value = ExpectedValue(30.0, ("young", "old"), (0.8, 0.2))
    assert value.confidence == pytest.approx(0.8) and value.bands() == {"young": 0.8, "old": 0.2}
    assert ExpectedValue(math.nan, (), ()).confidence == 0.0


@pytest.fixture()
def config(pipeline_config: PipelineConfig, model_dir: Path) -> PipelineConfig:
    return pipeline_config.with_updates({"classification.age_model": str(model_dir / "age.tflite")})


def test_each_model_reads_as_its_card_says(config: PipelineConfig) -> None:
    models = load_face_models(config.classification)
    assert list(models) == [attribute.task for attribute in ATTRIBUTES] == ["gender", "emotion", "age"]
    assert all(name == model.name for name, model in models.items())
    gender, age_model = models["gender"], models["age"]
    assert isinstance(gender, ClassifierModel) and isinstance(models["emotion"], ClassifierModel)
    assert isinstance(age_model, BinnedValueModel)
    assert gender.min_confidence == config.classification.gender_min_confidence
    assert models["emotion"].min_confidence == 0.0  # emotion always answers
    read = gender.read(np.array([0.2, 0.8]))
    assert read == ClassDistribution(GENDER_LABELS, (0.2, 0.8), config.classification.gender_min_confidence)
    distribution = np.linspace(1.0, 2.0, len(AGE_LABELS))
    years = age_model.read(distribution)
    assert years.value == pytest.approx(age.expected_age(distribution, AGE_CENTERS))
    assert years.band_labels == tuple(name for name, _, _ in age.AGE_BANDS)
    np.testing.assert_allclose(years.band_probabilities, age.band_probabilities(distribution, AGE_CENTERS))
    batch = np.zeros((3, age_model.input_spec.height, age_model.input_spec.width, 1), np.float32)
    assert age_model.predict(batch).shape == (3, len(AGE_LABELS))


def test_rebuilding_keeps_loaded_models_and_follows_the_new_reading(config: PipelineConfig) -> None:
    old = load_face_models(config.classification)
    stricter = config.with_updates({"classification.gender_min_confidence": 0.9}).classification
    kept = load_face_models(stricter, old, config.classification)
    assert all(kept[name].classifier is old[name].classifier for name in old)  # no interpreter reloaded
    assert kept["gender"].min_confidence == 0.9
    threads = config.with_updates({"classification.num_threads": 2}).classification
    reloaded = load_face_models(threads, old, config.classification)
    assert not any(reloaded[name].classifier is old[name].classifier for name in old)
    without_age = config.with_updates({"classification.age_model": "none"}).classification
    assert list(load_face_models(without_age, old, config.classification)) == ["gender", "emotion"]


class MeanBrightness:
    """A FaceModel the pipeline has never heard of: "bright" is the mean of the framed face."""

    name = "bright"
    input_spec = InputSpec(32, 32, 1.0 / 255.0, 0.0)  # a batch of its own
    model_path = Path("bright.tflite")

    def predict(self, batch: np.ndarray) -> np.ndarray:
        bright = batch.mean(axis=(1, 2, 3))
        return np.stack([bright, 1.0 - bright], axis=1)

    def read(self, probabilities: np.ndarray) -> ClassDistribution:
        return ClassDistribution(("bright", "dark"), tuple(float(p) for p in probabilities))


def test_a_new_model_is_run_smoothed_and_published_without_pipeline_edits(config: PipelineConfig,
                                                                          astronaut_bgr: np.ndarray) -> None:
    pipeline = FacePerceptionPipeline(config.with_updates({"tracking.smoothing": 0.5}))
    pipeline.models["bright"] = MeanBrightness()
    first = pipeline.process(astronaut_bgr).faces[0]
    second = pipeline.process((astronaut_bgr * 0.5).astype(np.uint8)).faces[0]
    assert first.track_id == second.track_id
    raw_first = np.array(first.raw_outputs["bright"].probabilities)
    raw_second = np.array(second.raw_outputs["bright"].probabilities)
    assert raw_second[0] < raw_first[0]  # the darker frame's face is darker
    np.testing.assert_allclose(second.outputs["bright"].probabilities, 0.5 * raw_first + 0.5 * raw_second, atol=1e-6)
    assert list(second.outputs) == ["gender", "emotion", "age", "bright"]
    assert f"{second.outputs['bright'].label} " in face_label_lines(second)[-1]
    detection = ros_messages.detection_array([second], Header()).detections[0]
    classes = [result.hypothesis.class_id for result in detection.results]
    assert classes[-2:] == ["bright/bright", "bright/dark"]
    assert classes[:2] == [f"gender/{label}" for label in GENDER_LABELS]
