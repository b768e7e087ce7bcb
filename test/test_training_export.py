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

"""Export -> LiteRT matches Keras, dynamic batch works, cards validate; shipped models load."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from face_perception.classification.model_card import load_model_card, ModelCardError
from training.data.age import bin_labels
from training.models.architectures import build_mini_xception
from training.models.litert import LiteRTClassifier
from training.models.litert_export import export_tflite, interleaved_latency_ms, run_from_shipped_card, write_model_card
from training.paths import MODELS_DIR

EXPECTED_LABELS = {"emotion": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
                   "gender": ["male", "female"], "age": bin_labels()}


@pytest.fixture(scope="module")
def small_model():
    import keras

    keras.utils.set_random_seed(0)
    model = build_mini_xception((48, 48, 1), 7)
    # Non-trivial BatchNorm statistics so the comparison exercises them.
    x = np.random.default_rng(0).uniform(-1, 1, (64, 48, 48, 1)).astype(np.float32)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, np.arange(64) % 7, epochs=1, batch_size=32, verbose=0)
    return model


def test_tflite_matches_keras_for_batch_1_and_5(small_model, tmp_path: Path) -> None:
    path = export_tflite(small_model, tmp_path / "m.tflite")
    runner = LiteRTClassifier(path)
    x = np.random.default_rng(1).uniform(-1, 1, (5, 48, 48, 1)).astype(np.float32)
    expected = small_model.predict(x, verbose=0)
    for batch in (1, 5, 1):
        np.testing.assert_allclose(runner(x[:batch]), expected[:batch], atol=1e-4)
    shape = runner.interpreter.get_input_details()[0]["shape_signature"]
    assert list(shape) == [-1, 48, 48, 1]


def test_int8_export_keeps_float_io(small_model, tmp_path: Path) -> None:
    calib = np.random.default_rng(2).uniform(-1, 1, (20, 48, 48, 1)).astype(np.float32)
    path = export_tflite(small_model, tmp_path / "q.tflite", quantize=True, representative_data=calib)
    runner = LiteRTClassifier(path)
    assert runner.input["dtype"] == np.float32 and runner.output["dtype"] == np.float32
    out = runner(calib[:5])
    assert out.shape == (5, 7)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=0.05)
    with pytest.raises(ValueError, match="representative_data"):
        export_tflite(small_model, tmp_path / "q2.tflite", quantize=True)


def test_write_model_card_validates(tmp_path: Path) -> None:
    path = write_model_card(tmp_path / "gender.card.json", task="gender", labels=["male", "female"],
                            input_height=48, input_width=48, scale=1 / 127.5, offset=-1.0,
                            extra={"model_file": "gender.tflite", "metrics": {"test": {"accuracy": 0.9}}})
    card = load_model_card(path)
    assert card.labels == ("male", "female") and card.input_height == 48
    assert card.raw["metrics"]["test"]["accuracy"] == 0.9
    with pytest.raises(ModelCardError, match="labels"):
        write_model_card(tmp_path / "x.json", task="gender", labels=["male", "male"], input_height=48,
                         input_width=48, scale=1.0, offset=0.0, extra={})
    with pytest.raises(ValueError, match="override"):
        write_model_card(tmp_path / "y.json", task="gender", labels=["male", "female"], input_height=48,
                         input_width=48, scale=1.0, offset=0.0, extra={"task": "emotion"})
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("task", ["emotion", "gender", "age"])
def test_shipped_model_and_card(task: str) -> None:
    tflite, card_path = MODELS_DIR / f"{task}.tflite", MODELS_DIR / f"{task}.card.json"
    if not tflite.is_file():
        pytest.skip(f"{tflite} not shipped yet")
    card = load_model_card(card_path)
    assert card.task == task and list(card.labels) == EXPECTED_LABELS[task]
    assert card.raw["model_file"] == tflite.name
    for key in ("dataset", "split", "preprocessing", "metrics", "parameters", "training_command",
                "git_commit", "trained_on", "training_minutes", "created"):
        assert key in card.raw, key
    runner = LiteRTClassifier(tflite)
    for batch in (1, 5):
        x = np.zeros((batch, card.input_height, card.input_width, 1), np.float32)
        probs = runner(x)
        assert probs.shape == (batch, len(card.labels))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=0.02)
    json.dumps(card.raw)  # serialisable provenance


def test_interleaved_latency_times_each_model(small_model, tmp_path: Path) -> None:
    calib = np.random.default_rng(3).uniform(-1, 1, (20, 48, 48, 1)).astype(np.float32)
    paths = {"float32": export_tflite(small_model, tmp_path / "f.tflite"),
             "int8": export_tflite(small_model, tmp_path / "q.tflite", quantize=True, representative_data=calib)}
    latency = interleaved_latency_ms(paths, calib, repeats=40)
    assert set(latency) == {"float32", "int8"}
    assert all(0.0 < ms < 1000.0 for ms in latency.values()), latency


@pytest.mark.parametrize("task", ["emotion", "gender", "age"])
def test_shipped_card_rebuilds_its_training_record(task: str) -> None:
    card_path = MODELS_DIR / f"{task}.card.json"
    if not card_path.is_file():
        pytest.skip(f"{card_path} not shipped yet")
    card = json.loads(card_path.read_text())
    run = run_from_shipped_card(card)
    assert run["arch"] == card["architecture"] and run["git_commit"] == card["git_commit"]
    assert run["input"]["normalization"] == card["input"]["normalization"]
    # Cards trained before training/ was split into folders name the old module (training.train).
    assert run["training_command"].startswith(("python -m training.fit.train ", "python -m training.train "))
    if task == "age":  # re-exporting an age model needs its bins
        assert run["age_bins"]["centers_years"] == card["age_bins"]["centers_years"]
