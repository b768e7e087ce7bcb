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
Training through the node's framing.

Training through the node's framing: re-detection, the same cut as the node's, LFW split by
person, robot-view augmentation, a framed training run and the end-to-end evaluation.

Reads a few hundred real faces of ../shared/data (CI has it; users of the package do not: then
these tests skip).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
import subprocess
import sys
import tarfile

import cv2
import numpy as np
import pytest

from conftest import copy_utkface_sample, REPO_ROOT
from face_perception.classification.framing import EyesMouthFraming
from training.paths import DEFAULT_LFW, DEFAULT_UTKFACE

needs_data = pytest.mark.skipif(not (DEFAULT_UTKFACE.is_file() and DEFAULT_LFW.is_file()),
                                reason="UTKFace or LFW not found in ../shared/data")
UTK_FACES = 240
LFW_PEOPLE = 120


@pytest.fixture(scope="module")
def utk_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_utkface_sample(DEFAULT_UTKFACE, tmp_path_factory.mktemp("utk"), UTK_FACES)


@pytest.fixture(scope="module")
def lfw_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a real LFW tar in the shipped layout with every photo of LFW_PEOPLE people."""
    path = tmp_path_factory.mktemp("lfw") / "lfw_small.tar"
    with tarfile.open(DEFAULT_LFW) as source:
        rows = list(csv.DictReader(io.TextIOWrapper(source.extractfile("lfw/labels.csv"), encoding="utf-8")))
        people = sorted({r["person"] for r in rows})[::40][:LFW_PEOPLE]
        kept = [r for r in rows if r["person"] in set(people)]
        with tarfile.open(path, "w") as tar:
            text = "path,person,gender\n" + "".join(f"{r['path']},{r['person']},{r['gender']}\n" for r in kept)
            info = tarfile.TarInfo("lfw/labels.csv")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
            for row in kept:
                member = source.getmember(row["path"])
                tar.addfile(member, source.extractfile(member))
    return path


@pytest.mark.data
@needs_data
def test_training_cuts_the_face_the_node_cuts(utk_folder: Path) -> None:
    """The training face of an image is the node's face of that image padded into a frame."""
    from face_perception.detection.blazeface import BlazeFaceDetector
    from training.data.framed import framed_dataset, PAD_FRACTION, SOURCE_SIDE
    from training.data.loaders.utkface import read_utkface

    sources = read_utkface(utk_folder, seed=1, side=SOURCE_SIDE, color="rgb")
    framing = EyesMouthFraming()
    dataset = framed_dataset(sources, framing.describe(), 48, "rgb", cache_dir=None)
    counts = dataset.info["framing"]["counts"]
    assert sum(c["images"] for c in counts.values()) == UTK_FACES
    assert sum(c["no_face_found"] for c in counts.values()) <= 0.05 * UTK_FACES  # measured: 0.2% on the whole set
    split = dataset.splits["train"]
    found = np.flatnonzero(split.extra["face_found"])
    detector = BlazeFaceDetector("full_range", 0.5, 2.0)
    for i in found[:5]:
        source = split.extra["source"][i]
        pad = int(round(PAD_FRACTION * SOURCE_SIDE))
        frame = cv2.copyMakeBorder(cv2.cvtColor(source, cv2.COLOR_RGB2BGR), pad, pad, pad, pad,
                                   cv2.BORDER_CONSTANT, value=(0, 0, 0))
        node_face = framing.cut(frame, detector.detect(frame)[0], 48, 48)
        training_face = split.images[i]
        # Same pixels but for the border: the node repeats the frame's black pad, training the
        # image's own edge. Compare the centre.
        difference = np.abs(node_face[8:40, 8:40, ::-1].astype(int) - training_face[8:40, 8:40].astype(int))
        assert difference.mean() < 2.0


@pytest.mark.data
@needs_data
def test_lfw_is_split_by_person(lfw_tar: Path) -> None:
    from training.data.loaders.lfw import read_lfw

    dataset = read_lfw(lfw_tar, seed=1337)
    assert dataset.info["people"] == LFW_PEOPLE
    with tarfile.open(lfw_tar) as tar:
        rows = list(csv.DictReader(io.TextIOWrapper(tar.extractfile("lfw/labels.csv"), encoding="utf-8")))
    assert sum(len(s) for s in dataset.splits.values()) == len(rows)
    people = {name: set(split.extra["person"].tolist()) for name, split in dataset.splits.items()}
    assert not (people["train"] & people["validation"] or people["train"] & people["test"]
                or people["validation"] & people["test"])  # nobody in two splits
    assert sum(len(p) for p in people.values()) == LFW_PEOPLE
    assert all(split.images.shape[1:] == (112, 112, 3) for split in dataset.splits.values())
    assert set(np.unique(np.concatenate([s.labels for s in dataset.splits.values()]))) <= {0, 1}
    assert (dataset.splits["test"].extra["age"] == -1).all()  # LFW has no ages


def test_robot_view_is_seeded_and_changes_the_face() -> None:
    from skimage.data import astronaut

    from face_perception.detection.blazeface import BlazeFaceDetector
    from training.data.robot_view import robot_view_face

    image = astronaut()  # RGB
    keypoints = np.array(BlazeFaceDetector("full_range", 0.5, 2.0).detect(image[:, :, ::-1].copy())[0].keypoints)
    framing = EyesMouthFraming()
    one = robot_view_face(image, keypoints, framing, 48, "gray", np.random.default_rng(3))
    two = robot_view_face(image, keypoints, framing, 48, "gray", np.random.default_rng(3))
    other = robot_view_face(image, keypoints, framing, 48, "gray", np.random.default_rng(4))
    plain = cv2.cvtColor(framing.cut_keypoints(image, keypoints, 48, 48), cv2.COLOR_RGB2GRAY)
    assert one.shape == (48, 48) and one.dtype == np.uint8
    np.testing.assert_array_equal(one, two)
    assert np.abs(one.astype(int) - other.astype(int)).mean() > 3
    assert np.abs(one.astype(int) - plain.astype(int)).mean() > 3


def test_robot_augmentation_needs_the_framing() -> None:
    result = subprocess.run([sys.executable, "-m", "training.fit.train", "--task", "gender", "--augment", "robot"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "--augment robot" in result.stderr and "--framing eyes_mouth" in result.stderr


@pytest.mark.data
@needs_data
def test_a_framed_gender_run_records_its_framing(utk_folder: Path, lfw_tar: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "STOP").touch()  # asks the run to end after its first epoch
    command = [sys.executable, "-m", "training.fit.train", "--task", "gender", "--data", str(utk_folder),
               "--lfw", str(lfw_tar), "--framing", "eyes_mouth", "--augment", "robot", "--epochs", "3",
               "--arch", "mini_xception", "--batch-size", "32", "--threads", "1", "--no-cache",
               "--verbose", "0", "--out", str(out)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    run = json.loads((out / "run.json").read_text())
    assert run["input"]["framing"] == EyesMouthFraming().describe()
    counts = run["dataset_info"]["framing"]["counts"]
    assert set(counts) == {"UTKFace", "LFW"}
    assert run["trained_faces"] == sum(counts[s]["train"]["images"] for s in counts)
    assert run["epochs_run"] == 1 and run["best_epoch"] == 1

    # A run stopped from outside keeps model.keras and history.csv; its record is written afterwards.
    (out / "run.json").unlink()
    result = subprocess.run(command + ["--record-interrupted", "2.5"], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((out / "run.json").read_text())
    assert record["interrupted"]["stopped_after_epoch"] == 1 and record["training_minutes"] == 2.5
    assert record["best_val_accuracy"] == pytest.approx(run["best_val_accuracy"])
    assert "--record-interrupted" not in record["training_command"]


@pytest.mark.data
@needs_data
def test_end_to_end_reads_pasted_faces_through_the_pipeline(utk_folder: Path) -> None:
    from face_perception.classification.classification import resolve_model_path
    from training.evaluation.pasted_faces import run_end_to_end, summarise
    from training.data.framed import framed_dataset, SOURCE_SIDE
    from training.data.loaders.utkface import read_utkface

    dataset = framed_dataset(read_utkface(utk_folder, seed=1, side=SOURCE_SIDE, color="rgb"),
                             EyesMouthFraming().describe(), 48, "gray", cache_dir=None)
    split = dataset.splits["train"]
    models = {"gender": str(resolve_model_path("", "gender"))}
    outcome = run_end_to_end(split, ["male", "female"], "blazeface", 96, models, limit=20)
    summary = summarise("gender", split, ["male", "female"], outcome)
    assert summary["faces"] == 20 and summary["detected"] >= 0.9
    assert 0.5 < summary["all"] <= 1.0  # a real model on real faces: better than chance
    assert set(np.unique(outcome["answer"][outcome["found"]])) <= {0, 1}


def test_end_to_end_results_are_recorded_in_the_models_card(tmp_path: Path) -> None:
    import shutil

    from face_perception.classification.classification import FaceClassifier, resolve_model_path
    from training.evaluation.pasted_faces import record_in_card

    shipped = resolve_model_path("", "emotion")
    model = tmp_path / "emotion.tflite"
    shutil.copyfile(shipped, model)
    shutil.copyfile(shipped.with_name("emotion.card.json"), tmp_path / "emotion.card.json")
    report = {"command": "python -m training.evaluation.end_to_end --task emotion", "split": "test", "limit": 3,
              "results": {"blazeface 96px": {"faces": 3, "detected": 2 / 3, "seconds": 1.5}}}
    record_in_card(str(model), report)
    card = json.loads((tmp_path / "emotion.card.json").read_text())
    recorded = card["metrics"]["end_to_end"]
    assert recorded["results"] == {"blazeface 96px": {"faces": 3, "detected": 0.6667}}
    assert recorded["split"] == "test" and "test" in card["metrics"]  # the crop figures stay
    assert FaceClassifier(model, "emotion").labels  # the card still loads in the node
