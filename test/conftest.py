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
Shared fixtures and helpers of the test suite.

The astronaut photo, synthetic face frames, small real LiteRT models, waiting on a condition,
and the fixtures of the ROS tests (a perception node in an rclpy graph: ``ros_graph``; the
real ``ros2`` tools: ``environment``), whose ROS-side code lives in ros_helpers.py and
ros2_tools.py and is imported only by the tests that use them.
"""
from __future__ import annotations

import os
from pathlib import Path
import sys
import time
from typing import Callable

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
# TensorFlow, in this process as in a user's (training/runtime/tensorflow_runtime.py).
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
    from training.runtime import tensorflow_runtime

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


def write_fairface_tar(path: Path, rows: list[tuple[str, str, str]], extra_rows: list[str] = ()) -> Path:
    """Write a tar.gz laid out as the release: fairface_val/<index>.jpg, then fairface_val/labels.csv last."""
    rng = np.random.default_rng(0)
    names = [f"fairface_val/{100 + i}.jpg" for i in range(1, len(rows) + 1)]
    faces = [(name, rng.integers(0, 256, (224, 224, 3), np.uint8)) for name in names]
    lines = ["path,age,gender,race"] + [f"{name},{age},{gender},{race}"
                                        for name, (age, gender, race) in zip(names, rows)]
    return write_labelled_tar(path, faces, "fairface_val/labels.csv", lines + list(extra_rows))


def write_rafdb_tar(path: Path, labels: list[str], extra_rows: list[str] = (), face: np.ndarray | None = None) -> Path:
    """Write a tar.gz laid out as the release: rafdb/train_NNNNN_aligned.jpg, then rafdb/labels.csv last."""
    rng = np.random.default_rng(0)
    names = [f"rafdb/train_{i:05d}_aligned.jpg" for i in range(1, len(labels) + 1)]
    faces = [(name, face if face is not None else rng.integers(0, 256, (100, 100, 3), np.uint8)) for name in names]
    rows = ["path,emotion"] + [f"{name},{label}" for name, label in zip(names, labels)] + list(extra_rows)
    return write_labelled_tar(path, faces, "rafdb/labels.csv", rows)


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

    from training.models import architectures, litert_export

    directory = tmp_path_factory.mktemp("models")
    specs = {
        "emotion": (48, EMOTION_LABELS, 1.0 / 255.0, 0.0),
        "gender": (64, GENDER_LABELS, 2.0 / 255.0, -1.0),
        "age": (56, AGE_LABELS, 1.0 / 255.0, 0.0),
    }
    extra = {"age": {"age_bins": {"centers_years": list(AGE_CENTERS)}}}
    for seed, (task, (size, labels, scale, offset)) in enumerate(specs.items()):
        keras.utils.set_random_seed(seed + 1)
        model = architectures.build_mini_xception(input_shape=(size, size, 1), num_classes=len(labels))
        # Untrained, the last conv's outputs are tiny and every face gets ~uniform
        # probabilities; scaled up, different crops give clearly different outputs, so a
        # test can tell whether faces in a batch were mixed up.
        class_conv = model.get_layer("class_conv")
        kernel, bias = class_conv.get_weights()
        class_conv.set_weights([kernel * 200.0, bias])
        litert_export.export_tflite(model, directory / f"{task}.tflite")
        litert_export.write_model_card(directory / f"{task}.card.json", task=task, labels=list(labels),
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


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds have passed; return whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.fixture(scope="session")
def model_parameters(model_dir: Path) -> dict[str, str]:
    """Parameter overrides pointing the node at the small test models (no age model: the age tests name theirs)."""
    return {
        "classification.emotion_model": str(model_dir / "emotion.tflite"),
        "classification.gender_model": str(model_dir / "gender.tflite"),
        "classification.age_model": "none",
    }


@pytest.fixture
def ros_graph(model_parameters: dict[str, str]):
    """Return ``start(extra)``: a started perception node (small test models) plus a probe, spun in a thread."""
    from ros_helpers import RosGraph

    graph = RosGraph(model_parameters)
    yield graph.start
    graph.close()


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory):
    """Yield the environment of the real ``ros2`` tools (ros2_tools.py); stop the ros2 daemon at the end."""
    from ros2_tools import ROS2, SHARED_ROS2, stop_daemon, tool_environment

    assert ROS2.is_file(), f"{ROS2} is missing although {SHARED_ROS2} exists: run scripts/setup/setup_env.sh --dev"
    env = tool_environment(tmp_path_factory.mktemp("ros_log"))
    yield env
    stop_daemon(env)


@pytest.fixture
def secure_delete_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SQLite connection opened during the test starts with secure_delete off (test/persons_files.py)."""
    import sqlite3

    from persons_files import connect_with_secure_delete_off

    monkeypatch.setattr(sqlite3, "connect", connect_with_secure_delete_off)
