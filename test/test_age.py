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

"""Age: the card's age_bins, the expectation and band confidence, the age model in the pipeline."""
from __future__ import annotations

import json
import math
from pathlib import Path
import shutil

import numpy as np
import pytest
from rclpy.parameter import Parameter

from conftest import AGE_CENTERS, AGE_LABELS
from face_perception.classification import age, classification
from face_perception.classification.classification import FaceClassifier, ModelLoadError
from face_perception.classification.model_card import load_model_card, ModelCardError, parse_model_card
from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline
from face_perception.ros.annotation import face_label_lines
from test_perception_node import image_message, model_parameters, ros_graph, wait_for  # noqa: F401 (fixtures)


def age_card(**changes) -> dict:
    card = {
        "schema_version": 1,
        "task": "age",
        "labels": ["0-9", "10-29", "30-59", "60+"],
        "input": {"height": 64, "width": 64, "color": "gray", "normalization": {"scale": 1 / 255, "offset": 0.0}},
        "age_bins": {"centers_years": [5, 20.0, 45.0, 75.0]},
    }
    card.update(changes)
    return card


def test_a_good_age_card_gives_its_bin_centres() -> None:
    card = parse_model_card(age_card(), "age.card.json")
    assert card.task == "age"
    assert card.age_bin_centers == (5.0, 20.0, 45.0, 75.0)
    gender_card = {**age_card(task="gender", labels=["female", "male"]), "age_bins": None}
    assert parse_model_card(gender_card).age_bin_centers is None


@pytest.mark.parametrize(
    "changes, message",
    [
        (None, "missing key 'age_bins'"),
        ({"age_bins": [5, 20, 45, 75]}, "key 'age_bins' has type list"),
        ({"age_bins": {}}, "missing key 'centers_years'"),
        ({"age_bins": {"centers_years": [5, 20, 45]}}, "3 entries for 4 labels"),
        ({"age_bins": {"centers_years": [5, "20", 45, 75]}}, "numbers only"),
        ({"age_bins": {"centers_years": [5, True, 45, 75]}}, "numbers only"),
        ({"age_bins": {"centers_years": [5, 20, 20, 75]}}, "strictly increasing"),
        ({"age_bins": {"centers_years": [5, 45, 20, 75]}}, "strictly increasing"),
        ({"age_bins": {"centers_years": [-1, 20, 45, 75]}}, "0..130"),
        ({"age_bins": {"centers_years": [5, 20, 45, 200]}}, "0..130"),
        ({"age_bins": {"centers_years": [5, 20, 45, math.nan]}}, "0..130"),
    ],
)
def test_bad_age_bins_are_refused_naming_the_file_and_key(tmp_path: Path, changes: dict, message: str) -> None:
    path = tmp_path / "age.card.json"
    card = age_card()
    if changes is None:
        del card["age_bins"]
    else:
        card.update(changes)
    path.write_text(json.dumps(card))
    with pytest.raises(ModelCardError, match=str(path)) as error:
        load_model_card(path)
    assert message in str(error.value)
    assert "age_bins" in str(error.value)


def test_expectation_and_band_confidence() -> None:
    centers = [5.0, 15.0, 30.0, 50.0, 75.0]  # one bin per band
    assert age.expected_age([0, 0, 1, 0, 0], centers) == pytest.approx(30.0)
    assert age.expected_age([0.5, 0, 0, 0, 0.5], centers) == pytest.approx(40.0)
    # Unnormalised input is normalised; an all-zero one has no expectation.
    assert age.expected_age([1, 1, 0, 0, 0], centers) == pytest.approx(10.0)
    assert math.isnan(age.expected_age([0, 0, 0, 0, 0], centers))
    assert age.age_confidence([0.1, 0.2, 0.4, 0.2, 0.1], centers) == pytest.approx(0.4)
    # Bins sharing a band add up: 18-29 and 30-39 are both in 18-39.
    bands = age.band_probabilities([0.1, 0.3, 0.35, 0.25], [9.0, 24.0, 35.0, 70.0])
    assert bands.tolist() == pytest.approx([0.1, 0.0, 0.65, 0.0, 0.25])
    assert [age.band_index(y) for y in (0, 12.9, 13, 17.5, 18, 39.9, 40, 59, 60, 116)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    with pytest.raises(ValueError):
        age.expected_age([0.5, 0.5], centers)


def test_age_model_output_is_one_distribution_per_face(model_dir: Path) -> None:
    classifier = FaceClassifier(model_dir / "age.tflite", "age")
    assert classifier.labels == AGE_LABELS
    assert classifier.card.age_bin_centers == AGE_CENTERS
    batch = np.random.default_rng(0).uniform(0, 1, (3, 56, 56, 1)).astype(np.float32)
    probabilities = classifier.predict(batch)
    assert probabilities.shape == (3, len(AGE_LABELS))
    assert probabilities.sum(axis=1) == pytest.approx(np.ones(3), abs=1e-4)
    years = [age.expected_age(p, AGE_CENTERS) for p in probabilities]
    assert all(AGE_CENTERS[0] <= y <= AGE_CENTERS[-1] for y in years)


def test_an_age_card_is_refused_for_another_task(model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="for task 'age', expected 'gender'"):
        FaceClassifier(model_dir / "age.tflite", "gender")


@pytest.fixture(scope="module")
def age_pipeline(pipeline_config: PipelineConfig, model_dir: Path) -> FacePerceptionPipeline:
    return FacePerceptionPipeline(
        pipeline_config.with_updates({"classification.age_model": str(model_dir / "age.tflite")}))


def test_pipeline_age_is_the_expectation_of_the_smoothed_distribution(age_pipeline, astronaut_bgr) -> None:
    age_pipeline.tracker.reset()
    first = age_pipeline.process(astronaut_bgr).faces[0]
    # A darker frame gives the untrained model another distribution to blend in.
    second = age_pipeline.process((astronaut_bgr * 0.5).astype(np.uint8)).faces[0]
    assert first.track_id == second.track_id
    track = next(t for t in age_pipeline.tracker.tracks if t.track_id == second.track_id)
    smoothed, raw = track.smoothed["age"], track.raw["age"]
    assert not np.allclose(smoothed, raw)  # smoothed over the track, not this frame alone
    assert second.age == pytest.approx(float(np.dot(smoothed, AGE_CENTERS) / smoothed.sum()), abs=1e-4)
    bands = age.band_probabilities(smoothed, AGE_CENTERS)
    assert second.outputs["age"].confidence == pytest.approx(bands.max(), abs=1e-6)
    assert list(second.outputs["age"].bands()) == [name for name, _, _ in age.AGE_BANDS]
    assert sum(second.outputs["age"].bands().values()) == pytest.approx(1.0, abs=1e-5)
    # The raw output is this frame's distribution read the same way.
    assert second.raw_outputs["age"].value == pytest.approx(float(np.dot(raw, AGE_CENTERS) / raw.sum()), abs=1e-4)
    assert f"age {second.age:.0f}" in " ".join(face_label_lines(second))


def test_none_runs_without_age(pipeline_config: PipelineConfig, astronaut_bgr) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates({"classification.age_model": "none"}))
    assert "age" not in pipeline.models and list(pipeline.models) == ["gender", "emotion"]
    face = pipeline.process(astronaut_bgr).faces[0]
    assert math.isnan(face.age) and "age" not in face.outputs and "age" not in face.raw_outputs
    assert not any(line.startswith("age") for line in face_label_lines(face))


def test_empty_means_the_shipped_age_model_or_none_if_not_shipped(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Point the package's models/ at a folder of our own, first without, then with age.tflite.
    monkeypatch.setattr(classification, "MODELS_DIRECTORY", tmp_path)
    assert classification.resolve_optional_model_path("", "age") is None
    assert classification.resolve_optional_model_path("none", "age") is None
    shutil.copy(model_dir / "age.tflite", tmp_path / "age.tflite")
    shutil.copy(model_dir / "age.card.json", tmp_path / "age.card.json")
    assert classification.resolve_optional_model_path("", "age") == tmp_path / "age.tflite"
    # An explicit path that does not exist is an error, not "no age model".
    config = PipelineConfig.from_mapping({
        "classification.emotion_model": str(model_dir / "emotion.tflite"),
        "classification.gender_model": str(model_dir / "gender.tflite"),
        "classification.age_model": str(tmp_path / "missing.tflite"),
    })
    with pytest.raises(ModelLoadError, match=r"missing\.tflite.*classification\.age_model"):
        FacePerceptionPipeline(config)


def test_age_model_can_be_switched_live(age_pipeline, pipeline_config: PipelineConfig, astronaut_bgr) -> None:
    config = age_pipeline.config
    age_pipeline.reconfigure(config.with_updates({"classification.age_model": "none"}))
    assert math.isnan(age_pipeline.process(astronaut_bgr).faces[0].age)
    age_pipeline.reconfigure(config)
    assert math.isfinite(age_pipeline.process(astronaut_bgr).faces[0].age)


def test_node_publishes_age_and_age_band_hypotheses_and_checks_live_age_model_changes(ros_graph,  # noqa: F811
                                                                                      model_dir, astronaut_bgr):
    node, probe = ros_graph({"classification.age_model": str(model_dir / "age.tflite")})
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    face = probe.attributes_for(header).faces[0]
    assert AGE_CENTERS[0] <= face.age <= AGE_CENTERS[-1] and 0.2 <= face.age_confidence <= 1.0
    assert wait_for(lambda: any(m.header == header for m in probe.detections))
    detection = next(m for m in probe.detections if m.header == header).detections[0]
    bands = {r.hypothesis.class_id: r.hypothesis.score for r in detection.results
             if r.hypothesis.class_id.startswith("age/")}
    assert list(bands) == [f"age/{name}" for name, _, _ in age.AGE_BANDS]
    assert max(bands.values()) == pytest.approx(face.age_confidence, abs=1e-6)

    refused = node.set_parameters([Parameter("classification.age_model", value="/nonexistent/age.tflite")])[0]
    assert not refused.successful and "/nonexistent/age.tflite" in refused.reason
    assert node.set_parameters([Parameter("classification.age_model", value="none")])[0].successful
    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: probe.attributes_for(header) is not None)
    assert math.isnan(probe.attributes_for(header).faces[0].age)


def test_shipped_age_model_reads_the_astronaut_as_an_adult(pipeline_config: PipelineConfig, astronaut_bgr) -> None:
    """
    Check the shipped age model reads a real adult's photo as an adult.

    The shipped model on a real photo of an adult (Eileen Collins in her thirties): an adult
    estimate with most of its mass in the adult bands (it reads her younger, about 25).
    """
    shipped = classification.MODELS_DIRECTORY / "age.tflite"
    if not shipped.is_file():
        pytest.skip(f"{shipped} not shipped")
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates({"classification.age_model": ""}))
    assert pipeline.models["age"].model_path == shipped
    face = pipeline.process(astronaut_bgr).faces[0]
    assert 18.0 <= face.age <= 60.0, face.age
    bands = face.outputs["age"].bands()
    assert bands["18-39"] + bands["40-59"] > 0.6
