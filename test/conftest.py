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

"""Shared fixtures: the astronaut photo, synthetic face frames, small real LiteRT models."""
from __future__ import annotations

import os
from pathlib import Path
import sys

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# DDS for the tests: a domain of this run's own (no cross-talk with a running demo or
# another test run) and the project's Fast DDS profile that keeps every packet on this
# machine and carries image-sized samples in shared memory (config/fastdds_local_only.xml).
os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
os.environ.pop("ROS_AUTOMATIC_DISCOVERY_RANGE", None)
os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(REPO_ROOT / "config" / "fastdds_local_only.xml")
if str(REPO_ROOT) not in sys.path:  # `training` is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from face_perception.parameters import PipelineConfig  # noqa: E402
from face_perception.ros.demo_frames import background, load_demo_image, paste_head  # noqa: E402
# The training package fixes TensorFlow's CPU settings (oneDNN off) before anything loads
# TensorFlow, in this process as in a user's (training/tensorflow_runtime.py).
import training  # noqa: E402, F401, I100

# The data and photos kept beside the repository (CI has them; a fresh checkout may not):
# tests that need them skip with the path they looked for.
SHARED_DIR = REPO_ROOT.parent / "shared"
# Where Haar finds the astronaut's face in the 512x512 photo (x, y, w, h), +-5 px.
ASTRONAUT_FACE = (177, 67, 93, 93)
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Deliberately not alphabetical, so code that assumes an order fails.
GENDER_LABELS = ("male", "female")
# Age bins of the test age model and their centres in years (age card's age_bins).
AGE_LABELS = ("0-5", "6-12", "13-17", "18-29", "30-39", "40-59", "60-79", "80+")
AGE_CENTERS = (3.0, 9.0, 15.0, 24.0, 35.0, 50.0, 70.0, 88.0)


def pytest_report_header(config) -> list[str]:
    """Print what the run is on: CPU, its AVX-512 flags, TensorFlow and the oneDNN settings in force."""
    from training import tensorflow_runtime

    settings = tensorflow_runtime.describe()
    try:
        in_use = "on" if tensorflow_runtime.onednn_in_use() else "off"
    except ImportError as error:  # no TensorFlow: the training tests are skipped or fail on their own
        in_use = f"unknown ({error})"
    return [f"cpu: {settings['cpu']}; avx512: {settings['avx512']}",
            f"tensorflow {settings['tensorflow']}; oneDNN kernels {in_use}; TF_ENABLE_ONEDNN_OPTS="
            f"{settings['TF_ENABLE_ONEDNN_OPTS']}; ONEDNN_MAX_CPU_ISA={settings['ONEDNN_MAX_CPU_ISA']}"]


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    image = load_demo_image()
    assert image.shape == (512, 512, 3)
    return image


@pytest.fixture(scope="session")
def astronaut_gray(astronaut_bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY)


def copy_utkface_sample(tar_path: Path, folder: Path, count: int) -> Path:
    """Copy ``count`` real UTKFace files, every k-th of the tar (all ages, both genders), into ``folder``."""
    import tarfile

    with tarfile.open(tar_path) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".jpg")]
        for member in members[:: max(1, len(members) // count)][:count]:
            (folder / Path(member.name).name).write_bytes(tar.extractfile(member).read())
    return folder


def write_labelled_tar(path: Path, faces: list[tuple[str, np.ndarray]], labels_member: str,
                       csv_lines: list[str]) -> Path:
    """Write a tar.gz as RAF-DB and FairFace ship: each (member name, BGR face) as a JPEG, the labels CSV last."""
    import io
    import tarfile

    def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(path, "w:gz") as tar:
        for name, face in faces:
            add(tar, name, cv2.imencode(".jpg", face)[1].tobytes())
        add(tar, labels_member, ("\n".join(csv_lines) + "\n").encode())
    return path


def shared_file(*parts: str) -> Path:
    """Return a file under :data:`SHARED_DIR`, or skip the test naming the path it is not at."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} not found (the shared data beside the repository)")
    return path


def make_face_frame(faces: list[tuple[float, float, float]], width: int = 640, height: int = 480,
                    seed: int = 0) -> np.ndarray:
    """Return a BGR frame with the astronaut's head pasted at each (centre_x, centre_y, face_size)."""
    frame = background(width, height, seed)
    for centre_x, centre_y, size in faces:
        paste_head(frame, centre_x, centre_y, size)
    return frame


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    Small real (untrained) mini-Xception models exported to LiteRT with their cards.

    Emotion: 48x48 input, pixels / 255; gender: 64x64 input, pixels / 127.5 - 1 (as the
    paper's models), so the pipeline has to build two different batches; age (a softmax over
    the AGE_LABELS bins): 56x56, pixels / 255, a third batch.
    """
    import keras

    from training import export, models

    directory = tmp_path_factory.mktemp("models")
    specs = {
        "emotion": (48, EMOTION_LABELS, 1.0 / 255.0, 0.0),
        "gender": (64, GENDER_LABELS, 2.0 / 255.0, -1.0),
        "age": (56, AGE_LABELS, 1.0 / 255.0, 0.0),
    }
    extra = {"age": {"age_bins": {"centers_years": list(AGE_CENTERS)}}}
    for seed, (task, (size, labels, scale, offset)) in enumerate(specs.items()):
        keras.utils.set_random_seed(seed + 1)
        model = models.build_mini_xception(input_shape=(size, size, 1), num_classes=len(labels))
        # Untrained, the last conv's outputs are tiny and every face gets ~uniform
        # probabilities; scaled up, different crops give clearly different outputs, so a
        # test can tell whether faces in a batch were mixed up.
        class_conv = model.get_layer("class_conv")
        kernel, bias = class_conv.get_weights()
        class_conv.set_weights([kernel * 200.0, bias])
        export.export_tflite(model, directory / f"{task}.tflite")
        export.write_model_card(directory / f"{task}.card.json", task=task, labels=list(labels),
                                input_height=size, input_width=size,
                                scale=scale, offset=offset,
                                extra={"note": "untrained test model", **extra.get(task, {})})
    return directory


@pytest.fixture(scope="session")
def pipeline_config(model_dir: Path) -> PipelineConfig:
    return PipelineConfig.from_mapping({
        "classification.emotion_model": str(model_dir / "emotion.tflite"),
        "classification.gender_model": str(model_dir / "gender.tflite"),
    })
