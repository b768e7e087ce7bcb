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
Colour ("rgb") model input on the node side.

Colour ("rgb") model input on the node side: cards, crops in R, G, B order, the pipeline
with an rgb model beside grey ones, and the refusal of a model whose channels its card denies.
"""
from __future__ import annotations

import json
from pathlib import Path
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT_FACE, GENDER_LABELS
from face_perception.classification.classification import card_path_for, FaceClassifier, ModelLoadError
from face_perception.classification.model_card import ModelCardError, parse_model_card
from face_perception.classification.preprocessing import InputSpec, preprocess_faces
from face_perception.detection.detection import Detection
from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import build_batches, FacePerceptionPipeline

RGB_SIZE = 48


def card_dict(color: str = "rgb") -> dict:
    return {"schema_version": 1, "task": "gender", "labels": ["male", "female"],
            "input": {"height": 48, "width": 48, "color": color,
                      "normalization": {"scale": 1 / 127.5, "offset": -1.0}}}


def test_cards_accept_rgb_and_refuse_other_colours() -> None:
    rgb = parse_model_card(card_dict("rgb"), "g.card.json")
    assert rgb.color == "rgb" and rgb.channels == 3
    assert InputSpec.from_card(rgb).channels == 3
    gray = parse_model_card(card_dict("gray"), "g.card.json")
    assert gray.color == "gray" and gray.channels == 1
    for bad in ("bgr", "RGB", "colour"):
        with pytest.raises(ModelCardError, match=rf"g\.card\.json: input color '{bad}' is not one of"):
            parse_model_card(card_dict(bad), "g.card.json")


@pytest.fixture(scope="module")
def rgb_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a small real (untrained) 48x48 rgb gender model, its outputs spread (not saturated)."""
    import keras

    from training.models import architectures, litert_export

    directory = tmp_path_factory.mktemp("rgb_model")
    keras.utils.set_random_seed(7)
    model = architectures.build_mini_xception(input_shape=(RGB_SIZE, RGB_SIZE, 3), num_classes=2)
    class_conv = model.get_layer("class_conv")
    kernel, bias = class_conv.get_weights()
    class_conv.set_weights([kernel * 10.0, bias])
    path = litert_export.export_tflite(model, directory / "gender.tflite")
    litert_export.write_model_card(directory / "gender.card.json", task="gender", labels=list(GENDER_LABELS),
                                   input_height=RGB_SIZE, input_width=RGB_SIZE, scale=2 / 255, offset=-1.0,
                                   color="rgb", extra={"note": "untrained test model"})
    return path


def test_a_pure_red_patch_of_a_real_photo_lands_in_channel_0(astronaut_bgr) -> None:
    image = astronaut_bgr.copy()
    image[300:400, 50:150] = (0, 0, 255)  # BGR: pure red
    spec = InputSpec(height=32, width=32, scale=1 / 255, offset=0.0, color="rgb")
    box = (60, 310, 80, 80)
    for frame in (image, cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)):
        batch = preprocess_faces(frame, [box], 0.1, spec)
        assert batch.shape == (1, 32, 32, 3) and batch.dtype == np.float32
        np.testing.assert_allclose(batch[0, :, :, 0], 1.0)
        np.testing.assert_allclose(batch[0, :, :, 1:], 0.0)
    # On the real face: the same as converting the frame to RGB first, cropping and resizing.
    face_spec = InputSpec(height=48, width=40, scale=2 / 255, offset=-1.0, color="rgb")
    batch = preprocess_faces(astronaut_bgr, [ASTRONAUT_FACE, (0, 0, 20, 20)], 0.1, face_spec)
    rgb = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2RGB)
    x, y, w, h = ASTRONAUT_FACE
    x0, y0 = int(np.floor(x - 0.1 * w)), int(np.floor(y - 0.1 * h))
    x1, y1 = int(np.ceil(x + 1.1 * w)), int(np.ceil(y + 1.1 * h))
    expected = cv2.resize(rgb[y0:y1, x0:x1], (40, 48), interpolation=cv2.INTER_AREA) * np.float32(2 / 255) - 1
    np.testing.assert_allclose(batch[0], expected, atol=1e-6)
    assert batch.shape == (2, 48, 40, 3) and -1.0 <= batch.min() and batch.max() <= 1.0
    assert np.abs(batch[0, :, :, 0] - batch[0, :, :, 2]).max() > 0.2  # really colour
    assert preprocess_faces(astronaut_bgr, [], 0.1, face_spec).shape == (0, 48, 40, 3)


def test_grey_frames_give_rgb_models_the_grey_in_every_channel(astronaut_bgr, astronaut_gray) -> None:
    rgb_spec = InputSpec(height=48, width=48, scale=2 / 255, offset=-1.0, color="rgb")
    gray_spec = InputSpec(height=48, width=48, scale=2 / 255, offset=-1.0)
    replicated = preprocess_faces(astronaut_gray, [ASTRONAUT_FACE], 0.1, rgb_spec)
    grey = preprocess_faces(astronaut_gray, [ASTRONAUT_FACE], 0.1, gray_spec)
    for channel in range(3):
        np.testing.assert_array_equal(replicated[..., channel], grey[..., 0])
    # Grey specs take the grey of a BGR frame, exactly as before.
    np.testing.assert_array_equal(preprocess_faces(astronaut_bgr, [ASTRONAUT_FACE], 0.1, gray_spec), grey)
    # One batch per distinct spec; an rgb spec next to a grey one of the same size differs.
    batches = build_batches(astronaut_bgr, astronaut_gray, [Detection(*ASTRONAUT_FACE, 1.0, 1.0)], 0.1,
                            [gray_spec, rgb_spec, gray_spec])
    assert set(batches) == {gray_spec, rgb_spec}
    assert batches[gray_spec].shape == (1, 48, 48, 1) and batches[rgb_spec].shape == (1, 48, 48, 3)


def test_pipeline_feeds_an_rgb_gender_model_colour_faces(pipeline_config: PipelineConfig, rgb_model: Path,
                                                         astronaut_bgr, astronaut_gray) -> None:
    config = pipeline_config.with_updates({"classification.gender_model": str(rgb_model)})
    pipeline = FacePerceptionPipeline(config)
    assert pipeline.models["gender"].classifier.card.color == "rgb"
    face = pipeline.process(astronaut_bgr).faces[0]
    gender = pipeline.models["gender"].classifier
    expected = gender.predict(preprocess_faces(astronaut_bgr, [face.box], 0.1, gender.input_spec))[0]
    np.testing.assert_allclose(list(face.raw_outputs["gender"].as_dict().values()), expected, atol=1e-5)
    # The colour of the face matters to it: its grey replicated gives another answer.
    replicated = gender.predict(preprocess_faces(astronaut_gray, [face.box], 0.1, gender.input_spec))[0]
    assert np.abs(expected - replicated).max() > 1e-2
    # The grey emotion model is untouched by the rgb model beside it.
    grey_only = FacePerceptionPipeline(pipeline_config).process(astronaut_bgr).faces[0]
    np.testing.assert_allclose(face.raw_outputs["emotion"].probabilities,
                               grey_only.raw_outputs["emotion"].probabilities, atol=1e-6)
    # A mono frame: the rgb model sees its grey in all three channels.
    mono = FacePerceptionPipeline(config).process(astronaut_gray).faces[0]
    assert mono.box == face.box
    np.testing.assert_allclose(list(mono.raw_outputs["gender"].as_dict().values()), replicated, atol=1e-5)
    # flip TTA mirrors colour batches along the width too.
    flipped = FacePerceptionPipeline(config.with_updates({"classification.flip_tta": True}))
    batch = preprocess_faces(astronaut_bgr, [face.box], 0.1, gender.input_spec)
    tta = 0.5 * (expected + gender.predict(np.ascontiguousarray(batch[:, :, ::-1, :]))[0])
    np.testing.assert_allclose(list(flipped.process(astronaut_bgr).faces[0].raw_outputs["gender"].as_dict().values()),
                               tta, atol=1e-5)


def _with_card_colour(model: Path, directory: Path, color: str) -> Path:
    """Return a copy of ``model`` whose card says ``color``."""
    directory.mkdir()
    copy = directory / "gender.tflite"
    shutil.copy(model, copy)
    card = json.loads(card_path_for(model).read_text())
    card["input"]["color"] = color
    card_path_for(copy).write_text(json.dumps(card))
    return copy


def test_a_model_whose_channels_its_card_denies_is_refused_in_one_line(
        pipeline_config: PipelineConfig, rgb_model: Path, tmp_path: Path) -> None:
    grey_model = Path(pipeline_config.classification.gender_model)
    cases = [(_with_card_colour(rgb_model, tmp_path / "a", "gray"), "takes 3-channel faces", "says color 'gray'"),
             (_with_card_colour(grey_model, tmp_path / "b", "rgb"), "takes 1-channel faces", "says color 'rgb'")]
    for model, takes, says in cases:
        with pytest.raises(ModelLoadError) as info:
            FaceClassifier(model, "gender")
        message = str(info.value)
        assert str(model) in message and takes in message and says in message, message
        assert "\n" not in message and "classification.gender_model" in message
        with pytest.raises(ModelLoadError, match="-channel faces"):
            FacePerceptionPipeline(pipeline_config.with_updates({"classification.gender_model": str(model)}))


def test_the_node_refuses_to_start_with_such_a_model(model_dir: Path, rgb_model: Path, tmp_path: Path) -> None:
    model = _with_card_colour(rgb_model, tmp_path / "m", "gray")
    process = subprocess.run(
        [sys.executable, "-m", "face_perception.ros.perception_node", "--ros-args",
         "-p", f"classification.emotion_model:={model_dir / 'emotion.tflite'}",
         "-p", f"classification.gender_model:={model}", "-p", "classification.age_model:=none"],
        capture_output=True, text=True, timeout=60)
    output = process.stdout + process.stderr
    assert process.returncode == 1, output
    fatal = [line for line in output.splitlines() if "FATAL" in line]
    assert len(fatal) == 1 and str(model) in fatal[0] and "3-channel" in fatal[0], output
    assert "Traceback" not in output
