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
The age model's child probability: its mass under 13 years, Platt-scaled.

The logit, the Platt fit, log loss, precision and recall, and the validation faces the fit uses
(UTKFace validation; FairFace validation without 10-19).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


FAIRFACE_CHILD_GROUPS = (0, 1)  # 0-2, 3-9


FAIRFACE_LEFT_OUT = 2  # 10-19: holds children (10-12) and not (13-19)


def logit(p: np.ndarray) -> np.ndarray:
    """Return log(p / (1 - p)), p kept within the node's epsilon of 0 and 1 (as ChildCalibration does)."""
    from face_perception.classification.age_groups import LOGIT_EPSILON

    q = np.clip(np.asarray(p, np.float64), LOGIT_EPSILON, 1.0 - LOGIT_EPSILON)
    return np.log(q / (1.0 - q))


def fit_platt(z: np.ndarray, y: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """
    Return (a, b) maximising the likelihood of ``y`` (0/1) under ``sigmoid(a * z + b)``.

    Newton's method on the two parameters (the log-likelihood is concave); a tiny ridge keeps
    the step defined when the classes separate.
    """
    x = np.stack([np.asarray(z, np.float64), np.ones(len(z))], axis=1)
    t = np.asarray(y, np.float64)
    w = np.array([1.0, 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (t - p) - 1e-6 * w
        hessian = (x * (p * (1.0 - p))[:, None]).T @ x + 1e-6 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        w += step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def precision_recall(p: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Return precision and recall of ``p >= threshold`` for the children (``y`` 1), with the counts."""
    said = p >= threshold
    child = y.astype(bool)
    true_positive = int((said & child).sum())
    return {"precision": true_positive / int(said.sum()) if said.any() else None,
            "recall": true_positive / int(child.sum()) if child.any() else None,
            "said child": int(said.sum()), "children": int(child.sum()), "faces": int(len(y))}


def age_probabilities(model_path: Path, images: np.ndarray) -> np.ndarray:
    """Return the age model's bin probabilities for faces already cut at its input size (.tflite or .keras)."""
    from face_perception.classification.classification import card_path_for, FaceClassifier
    from face_perception.classification.model_card import load_model_card
    from face_perception.classification.preprocessing import build_batch, InputSpec

    if model_path.suffix == ".keras":
        import keras

        spec = InputSpec.from_card(load_model_card(card_path_for(model_path)))
        model = keras.models.load_model(model_path, compile=False)
        predict = model.predict
        kwargs: dict[str, Any] = {"verbose": 0}
    else:
        classifier = FaceClassifier(model_path, "age")
        spec, predict, kwargs = classifier.input_spec, classifier.predict, {}
    chunks = []
    for start in range(0, len(images), 256):
        # Grey faces are HxW; colour faces are R, G, B and build_batch reads colour as BGR.
        crops = [im if im.ndim == 2 else im[:, :, ::-1] for im in images[start:start + 256]]
        chunks.append(np.asarray(predict(build_batch(crops, spec), **kwargs), np.float64))
    return np.concatenate(chunks) if chunks else np.zeros((0, 0))


def validation_faces(card, cache_dir: Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return {set name: (faces cut by the card's framing, child 0/1)} of the validation data."""
    from training.data.framed import framed_dataset
    from training.data.loaders.fairface import load_fairface
    from training.paths import CACHE_DIR
    from training.data.tasks import load_task_data

    cache_dir = cache_dir or CACHE_DIR
    entry, side, color = card.framing, card.input_height, card.color
    if entry is None:
        raise SystemExit(f"{card.path}: the card names no input.framing; the calibration reads faces the node's way")
    utkface = load_task_data("age", side=side, color=color, framing=entry, cache_dir=cache_dir).splits["validation"]
    fairface = framed_dataset(load_fairface(cache_dir=cache_dir), entry, side, color, cache_dir).splits["validation"]
    groups = fairface.extra["age_group"]
    keep = groups != FAIRFACE_LEFT_OUT
    return {"UTKFace validation": (utkface.images, (utkface.extra["age"] < 13).astype(np.int64)),
            "FairFace validation (no 10-19)": (fairface.images[keep],
                                               np.isin(groups[keep], FAIRFACE_CHILD_GROUPS).astype(np.int64))}
