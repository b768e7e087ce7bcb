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
Knowledge distillation: a larger teacher's soft outputs blended into the student's targets.

Offline form: the teacher (training-only, never shipped: one model, or an ensemble of several
whose probabilities are averaged) scores every training face once, averaged over the face and
its mirror image, and each student target becomes

    (1 - alpha) * label target + alpha * teacher probabilities

so the student learns which wrong classes a face resembles (e.g. disgust next to anger), not only
the votes. The student keeps its usual augmentation; the mild shifts and flips it applies do not
change what the face shows, so the teacher's reading of the unaugmented face still holds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from training.data.preprocess import normalize
from training.paths import run_provenance

CHANNEL_NAMES = {1: "grey", 3: "rgb"}


def load_teacher(path: Path, input_side: int, num_classes: int, channels: int = 1):
    """
    Return the teacher .keras model, checked against the student.

    Return the teacher .keras model, checked against the student's input size, colour (1 channel grey,
    3 rgb: its probabilities must come from the faces the student sees) and classes.
    """
    import keras

    if not path.is_file():
        raise SystemExit(f"--teacher {path} not found")
    teacher = keras.models.load_model(path, compile=False)
    side, taken, classes = teacher.input_shape[1], teacher.input_shape[-1], teacher.output_shape[-1]
    if taken != channels:
        raise SystemExit(f"--teacher {path}: takes {CHANNEL_NAMES.get(taken, taken)} faces, the student "
                         f"{CHANNEL_NAMES.get(channels, channels)} (--color): "
                         "the teacher must read the same-colour faces")
    if side != input_side or classes != num_classes:
        raise SystemExit(f"--teacher {path}: takes {side}x{side} faces and gives {classes} classes, "
                         f"the student {input_side}x{input_side} and {num_classes}")
    return teacher


def teacher_probabilities(teachers: Sequence, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """
    Return the teacher ensemble's probabilities [N, classes] for uint8 faces.

    Probabilities [N, classes] of the teacher ensemble for uint8 faces [N, H, W]: the mean
    over its members, each the mean of face and mirror.
    """
    from training.evaluation.test_report import flip_tta

    x = normalize(images)
    per_member = [flip_tta(lambda batch, t=teacher: t.predict(batch, batch_size=batch_size, verbose=0), x)
                  for teacher in teachers]
    return np.mean(per_member, axis=0).astype(np.float32)


def blend_targets(targets: np.ndarray, teacher: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) * targets + alpha * teacher, row-wise; both must be distributions."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"distillation alpha must be in [0, 1], got {alpha}")
    if targets.shape != teacher.shape:
        raise ValueError(f"targets {targets.shape} and teacher outputs {teacher.shape} differ")
    return ((1.0 - alpha) * targets + alpha * teacher).astype(np.float32)


def teacher_record(paths: Sequence[Path], teachers: Sequence, alpha: float, train_targets: np.ndarray,
                   teacher_probs: np.ndarray) -> dict[str, Any]:
    """Return what the student's run.json and card say about its teacher (each member's provenance)."""
    keys = ("arch", "targets", "training_command", "epochs_run", "best_val_accuracy", "training_minutes",
            "trained_on")
    members = [{**run_provenance(path, keys), "parameters": int(teacher.count_params())}
               for path, teacher in zip(paths, teachers)]
    return {
        "members": members, "parameters": sum(m["parameters"] for m in members), "alpha": alpha,
        "agreement_with_targets_on_training_faces": float(
            (teacher_probs.argmax(1) == train_targets.argmax(1)).mean()),
    }
