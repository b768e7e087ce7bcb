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
Colour ("rgb") training.

Colour ("rgb") training: UTKFace decoded in colour, its own cache, augmentation and
normalisation of [N, H, W, 3], the grey-only refusals, and a tiny real rgb gender model trained,
exported and run by the pipeline on a real photo.

The UTKFace tests read a few hundred faces of ../shared/data/utkface_100px.tar (CI has it; users
of the package do not: then they skip).
"""
from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import tarfile

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT_FACE, copy_utkface_sample, REPO_ROOT
from training.paths import DEFAULT_UTKFACE

needs_utkface = pytest.mark.skipif(not DEFAULT_UTKFACE.is_file(), reason=f"UTKFace not found at {DEFAULT_UTKFACE}")
SAMPLE_FACES = 600


@pytest.fixture(scope="module")
def utk_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder of SAMPLE_FACES real UTKFace files, every k-th of the tar (all ages, both genders)."""
    return copy_utkface_sample(DEFAULT_UTKFACE, tmp_path_factory.mktemp("utkface_sample"), SAMPLE_FACES)


@pytest.mark.data
@needs_utkface
def test_utkface_decodes_colour_faces_in_rgb_order(utk_sample: Path) -> None:
    from PIL import Image

    from training.data.loaders.utkface import parse_utk_name, read_utkface, split_indices

    gray = read_utkface(utk_sample, seed=1, side=48)
    rgb = read_utkface(utk_sample, seed=1, side=48, color="rgb")
    for name, split in rgb.splits.items():
        assert split.images.shape[1:] == (48, 48, 3) and split.images.dtype == np.uint8
        assert gray.splits[name].images.shape == split.images.shape[:3]
        np.testing.assert_array_equal(split.labels, gray.splits[name].labels)  # the same split
    images = rgb.splits["train"].images
    # The grey of the colour faces is the grey decode (up to JPEG decoder rounding).
    as_gray = np.stack([cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in images]).astype(np.float32)
    assert np.abs(as_gray - gray.splits["train"].images).mean() < 2.0
    # Skin is red rather than blue: R comes first.
    assert images[..., 0].mean() > images[..., 2].mean() + 10
    assert rgb.info["decoded_color"] == "rgb" and "decoded_color" not in gray.info
    # The first test face as Pillow (which decodes to R, G, B on its own) reads it.
    names = sorted(p.name for p in utk_sample.iterdir() if parse_utk_name(p.name) is not None)
    first_test = names[int(split_indices(len(names), 1)["test"][0])]
    pillow = np.asarray(Image.open(utk_sample / first_test).convert("RGB").resize((48, 48), Image.BOX), np.float32)
    assert np.abs(pillow - rgb.splits["test"].images[0]).mean() < 4.0


@pytest.mark.data
@needs_utkface
def test_grey_and_colour_caches_never_mix(utk_sample: Path, tmp_path: Path) -> None:
    from training.data.cache import cache_key
    from training.data.loaders.utkface import load_utkface_gender

    tar_path = tmp_path / "utk_small.tar"
    with tarfile.open(tar_path, "w") as tar:
        for file in sorted(utk_sample.iterdir())[:40]:
            tar.add(file, arcname=f"UTKFace/{file.name}")
    cache = tmp_path / "cache"
    gray = load_utkface_gender(tar_path, seed=3, cache_dir=cache)
    rgb = load_utkface_gender(tar_path, seed=3, cache_dir=cache, color="rgb")
    files = sorted(cache.glob("*.npz"))
    assert len(files) == 2
    # Grey keeps the key it had before colour existed, so earlier grey caches stay valid.
    grey_key = cache_key(tar_path, kind="utkface-gray-v2", seed=3, fractions=[0.8, 0.1, 0.1], side=48)
    assert (cache / f"utk_small.tar.{grey_key}.npz") in files
    # Read back from the cache, each is what it was.
    assert load_utkface_gender(tar_path, seed=3, cache_dir=cache).splits["train"].images.ndim == 3
    again = load_utkface_gender(tar_path, seed=3, cache_dir=cache, color="rgb").splits["train"].images
    np.testing.assert_array_equal(again, rgb.splits["train"].images)
    assert again.shape[-1] == 3 and gray.splits["train"].images.ndim == 3


def test_emotion_in_colour_stops_with_one_line(tmp_path: Path) -> None:
    from training.data.tasks import load_task_data
    from training.fit.train import main as train_main

    with pytest.raises(SystemExit) as info:
        train_main(["--task", "emotion", "--color", "rgb", "--out", str(tmp_path / "run"), "--epochs", "1"])
    message = str(info.value.code)
    assert "FER-2013 has grey faces only" in message and "\n" not in message
    assert not (tmp_path / "run").exists()  # stopped before anything was made
    with pytest.raises(SystemExit, match="grey faces only"):
        load_task_data("emotion", tmp_path / "fer.csv", color="rgb")
    with pytest.raises(SystemExit):  # argparse: not a colour it knows
        train_main(["--task", "gender", "--color", "bgr"])


def _real_colour_faces(astronaut_bgr: np.ndarray) -> np.ndarray:
    """uint8 [4, 48, 48, 3] RGB crops of a real photo: the face and three other regions."""
    rgb = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2RGB)
    x, y, w, h = ASTRONAUT_FACE
    boxes = [(x, y, w, h), (300, 300, 120, 120), (10, 10, 60, 60), (150, 220, 150, 150)]
    return np.stack([cv2.resize(rgb[b[1]:b[1] + b[3], b[0]:b[0] + b[2]], (48, 48), interpolation=cv2.INTER_AREA)
                     for b in boxes])


def test_augmentation_and_normalisation_keep_three_channels(astronaut_bgr) -> None:
    from training.data.augment import AugmentedBatches, build_augmentation, random_affine_batch
    from training.data.preprocess import normalize, resize_batch

    faces = _real_colour_faces(astronaut_bgr)
    x = normalize(faces)
    assert x.shape == (4, 48, 48, 3) and x.dtype == np.float32 and -1.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[..., 0], faces[..., 0] / 127.5 - 1.0, atol=1e-6)  # channels stay in place
    assert resize_batch(faces, 32).shape == (4, 32, 32, 3)
    # Loader: with only the flip left, each face comes back as itself or its mirror, colours intact.
    flipped = random_affine_batch(faces, np.random.default_rng(0), shift=0.0, zoom=0.0, rotation_degrees=0.0)
    assert flipped.shape == faces.shape and flipped.dtype == np.uint8
    for face, out in zip(faces, flipped):
        assert np.array_equal(out, face) or np.array_equal(out, face[:, ::-1])
    moved = random_affine_batch(faces, np.random.default_rng(1))
    assert moved.shape == faces.shape and not np.array_equal(moved, faces)
    # The channel means survive a geometric transform (no channel mixing).
    np.testing.assert_allclose(moved.reshape(-1, 3).mean(0), faces.reshape(-1, 3).mean(0), rtol=0.15)
    batches = AugmentedBatches(faces, np.eye(2, dtype=np.float32)[[0, 1, 0, 1]], batch_size=3, seed=0)
    images, targets = batches[0]
    assert images.shape == (3, 48, 48, 3) and targets.shape == (3, 2)
    # Layers (with the photometric part): the same shape, a changed image, values still finite.
    layers = build_augmentation(photometric=0.2, seed=0)
    out = np.asarray(layers(x, training=True))
    assert out.shape == x.shape and np.isfinite(out).all() and not np.allclose(out, x)
    np.testing.assert_allclose(np.asarray(layers(x, training=False)), x, atol=1e-6)


def test_a_grey_teacher_is_refused_for_a_colour_student(tmp_path: Path) -> None:
    from training.fit.distill import load_teacher
    from training.models.architectures import build_mini_xception

    path = tmp_path / "teacher" / "model.keras"
    path.parent.mkdir()
    build_mini_xception((48, 48, 1), 2).save(path)
    assert load_teacher(path, 48, 2, channels=1).input_shape[-1] == 1  # grey student: fine
    with pytest.raises(SystemExit, match=r"takes grey faces, the student rgb \(--color\)") as info:
        load_teacher(path, 48, 2, channels=3)
    assert str(path) in str(info.value.code) and "\n" not in str(info.value.code)


@pytest.mark.data
@needs_utkface
def test_a_tiny_rgb_gender_model_trains_exports_and_runs_in_the_pipeline(utk_sample: Path, tmp_path: Path,
                                                                         astronaut_bgr) -> None:
    import keras

    from face_perception.parameters import PipelineConfig
    from face_perception.pipeline.pipeline import FacePerceptionPipeline
    from face_perception.classification.preprocessing import preprocess_faces
    from training.models import export
    from training.evaluation.validation_compare import compare
    from training.evaluation.test_report import evaluate

    run = tmp_path / "run"
    # The command line itself, in a process of its own: --threads 1 can only take effect before
    # TensorFlow starts, which earlier tests in this process may have done.
    command = [sys.executable, "-m", "training.fit.train", "--task", "gender", "--color", "rgb",
               "--data", str(utk_sample), "--out", str(run), "--arch", "mini_xception", "--epochs", "1",
               "--limit", "300", "--batch-size", "32", "--warmup-epochs", "0.2", "--threads", "1",
               "--no-cache", "--verbose", "0"]
    trained = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-3000:]
    record = json.loads((run / "run.json").read_text())
    assert record["input"]["color"] == "rgb" and record["trained_faces"] == 300
    assert keras.models.load_model(run / "model.keras", compile=False).input_shape == (None, 48, 48, 3)

    models = tmp_path / "models"
    assert export.main(["--task", "gender", "--run", str(run), "--data", str(utk_sample),
                        "--models-dir", str(models), "--calibration", "64"]) == 0
    card = json.loads((models / "gender.card.json").read_text())
    assert card["input"]["color"] == "rgb" and "R, G, B" in card["preprocessing"]
    assert "[batch, H, W, 3]" in card["preprocessing"]

    # The pipeline: shipped grey emotion and age models beside the new rgb gender model.
    config = PipelineConfig.from_mapping({"classification.gender_model": str(models / "gender.tflite"),
                                          "classification.gender_min_confidence": 0.5})
    pipeline = FacePerceptionPipeline(config)
    assert pipeline.models["gender"].classifier.card.color == "rgb"
    assert pipeline.models["emotion"].classifier.card.color == "gray"
    faces = pipeline.process(astronaut_bgr).faces
    assert len(faces) == 1
    face = faces[0]
    assert face.gender in ("male", "female")
    assert sum(face.gender_probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    gender = pipeline.models["gender"].classifier
    expected = gender.predict(preprocess_faces(astronaut_bgr, [face.box], 0.1, gender.input_spec))[0]
    np.testing.assert_allclose(list(face.raw_outputs["gender"].as_dict().values()), expected, atol=1e-5)
    # The float model on the same colour crop agrees (int8 within its rounding).
    float_model = keras.models.load_model(models / "gender.keras", compile=False)
    float_probs = float_model.predict(preprocess_faces(astronaut_bgr, [face.box], 0.1, gender.input_spec), verbose=0)[0]
    np.testing.assert_allclose(float_probs[[card["labels"].index(label) for label in gender.labels]], expected,
                               atol=0.05 if card["weights"] == "int8" else 1e-4)

    # Evaluation and comparison read colour faces for the rgb model.
    report = evaluate("gender", models / "gender.tflite", utk_sample, tmp_path / "no_anchor", tmp_path / "eval",
                      "test")
    assert report["samples"] == card["split"]["counts"]["test"]
    views, rows = compare("gender", [run / "model.keras"], utk_sample)
    assert 0.0 <= rows[0][views[0]] <= 1.0 and rows[0][views[0] + " faces"] == card["split"]["counts"]["validation"]
