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
Teachers that read unlabelled faces for pseudo-labels, and the confidence threshold rule.

A trained model (flip-averaged) or dlib descriptors with a softmax head; each teacher's
confidence and answer, and the lowest threshold that reaches a precision on FairFace validation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from training.paths import REPO_ROOT


PSEUDO_DIR = REPO_ROOT / "build" / "pseudo"


THRESHOLD_GRID = tuple(round(0.5 + 0.025 * i, 3) for i in range(20))  # 0.5 .. 0.975


DEFAULT_PRECISION = {"gender": 0.93, "age": 0.5}


DESCRIPTOR_SEED = 0


# The descriptor head's settings per task, chosen on FairFace validation (training/README.md):
# gender fits the raw descriptors best, age's 21 bins need z-scored ones to be learnt in time.
DESCRIPTOR_HEAD = {"gender": {"l2": 1e-4, "learning_rate": 0.5, "standardize": False},
                   "age": {"l2": 1e-3, "learning_rate": 0.2, "standardize": True}}


RAFDB_SUBSET_SEED = 26


def confidence_and_answer(task: str, probabilities: np.ndarray, card: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return (confidence, answer) per face: gender (label index) or age (expected years)."""
    if task == "gender":
        return probabilities.max(axis=1), probabilities.argmax(axis=1)
    from face_perception.classification.age_groups import AGE_GROUPS, overlap_matrix
    from training.data.age import expected_age

    groups = probabilities @ overlap_matrix(card["age_bins"]["edges_years"], [(lo, hi) for _, lo, hi in AGE_GROUPS])
    return groups.max(axis=1), expected_age(probabilities, card["age_bins"]["centers_years"])


def correct(task: str, answer: np.ndarray, split) -> np.ndarray:
    """Return whether each teacher answer on FairFace is right (gender; age group of the expected age)."""
    if task == "gender":
        return answer == split.labels
    from training.data.loaders.fairface import age_group_of

    return age_group_of(answer) == split.extra["age_group"]


def choose_threshold(confidence: np.ndarray, right: np.ndarray, precision: float,
                     grid: Sequence[float] = THRESHOLD_GRID, min_kept: int = 20) -> tuple[float, list[dict]]:
    """Return the lowest grid threshold whose kept faces are right >= ``precision``, and the whole curve."""
    curve = []
    for t in grid:
        kept = confidence >= t
        curve.append({"threshold": t, "kept": float(kept.mean()), "faces": int(kept.sum()),
                      "precision": float(right[kept].mean()) if kept.any() else None})
    for point in curve:
        if point["faces"] >= min_kept and point["precision"] is not None and point["precision"] >= precision:
            return point["threshold"], curve
    raise SystemExit(f"no threshold in {grid[0]}..{grid[-1]} keeps {min_kept}+ FairFace validation faces "
                     f"right {precision:.0%} of the time; lower --precision")


class Teacher(Protocol):
    """Reads a framed split (``extra['source']`` and ``extra['keypoints']``) as class probabilities [N, classes]."""

    description: str

    def read(self, split) -> np.ndarray:
        ...


class ModelTeacher:
    """A .keras model of the task, flip-averaged, on faces cut by the card's framing at its input side."""

    def __init__(self, path: Path, framing_entry: dict[str, Any], side: int) -> None:
        import keras

        from face_perception.classification.framing import framing_from_card

        if not path.is_file():
            raise SystemExit(f"--teacher {path} not found")
        self.model = keras.models.load_model(path, compile=False)
        self.color = "rgb" if self.model.input_shape[-1] == 3 else "gray"
        self.framing, self.side = framing_from_card(framing_entry, 0.0, "pseudo-label framing"), side
        self.description = f"{path} (flip-averaged, the node's framing)"

    def read(self, split) -> np.ndarray:
        from training.fit.distill import teacher_probabilities
        from training.data.framed import cut_faces

        faces = cut_faces(split.extra["source"], split.extra["keypoints"], self.framing, self.side, self.color)
        return teacher_probabilities([self.model], faces)


class DescriptorTeacher:
    """A softmax head on dlib face descriptors (training.fit.descriptors), fitted on labelled training faces."""

    def __init__(self, labelled, classes: int, faces: int, cache_dir: Path | None, seed: int = DESCRIPTOR_SEED,
                 head: dict[str, Any] = DESCRIPTOR_HEAD["gender"]) -> None:
        from training.fit.descriptors import face_descriptors, SoftmaxHead

        self.cache_dir = cache_dir
        rows = np.sort(np.random.default_rng(seed).choice(len(labelled), min(faces, len(labelled)), replace=False))
        x = face_descriptors(labelled.extra["source"][rows], labelled.extra["keypoints"][rows], cache_dir)
        self.head = SoftmaxHead.fit(x, labelled.labels[rows], classes, **head)
        self.fit_accuracy = float((self.head.probabilities(x).argmax(axis=1) == labelled.labels[rows]).mean())
        self.description = (f"dlib descriptors + softmax head fitted on {len(rows)} labelled training faces "
                            f"(seed {seed}, {head}; training accuracy {self.fit_accuracy:.3f})")

    def read(self, split) -> np.ndarray:
        from training.fit.descriptors import face_descriptors

        return self.head.probabilities(face_descriptors(split.extra["source"], split.extra["keypoints"],
                                                        self.cache_dir))


def ensemble_read(teachers: Sequence[Teacher], split) -> np.ndarray:
    """Return the mean of the teachers' probabilities."""
    return np.mean([teacher.read(split) for teacher in teachers], axis=0).astype(np.float32)


def rafdb_subset(size: int, faces: int, seed: int = RAFDB_SUBSET_SEED) -> np.ndarray:
    """Return the RAF-DB training rows read: all, or a seeded subset of ``faces`` (descriptors are slow)."""
    if faces <= 0 or faces >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).permutation(size)[:faces])


def teacher_card(path: Path) -> dict[str, Any]:
    """Return the card beside a shipped model, or the run.json of a training run's folder."""
    from training.models.records import model_record

    record = model_record(path)
    if record is None:
        raise SystemExit(f"--teacher {path}: no {path.with_suffix('.card.json').name} or run.json beside it")
    return record
