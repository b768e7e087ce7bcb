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

"""Metrics and the evaluation report: correct numbers, every class present."""
from __future__ import annotations

import numpy as np

from training.evaluation.metrics import classification_report, confusion_matrix
from training.evaluation.test_report import flip_tta, markdown_report, report_both

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_confusion_and_per_class_numbers() -> None:
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 2])
    m = confusion_matrix(y_true, y_pred, 3)
    assert m.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    r = classification_report(y_true, y_pred, ["a", "b", "c"])
    assert r["accuracy"] == 4 / 6
    assert r["per_class"]["b"]["precision"] == 2 / 3 and r["per_class"]["b"]["recall"] == 1.0
    assert abs(r["per_class"]["b"]["f1"] - 0.8) < 1e-12
    assert abs(r["macro_f1"] - np.mean([0.5, 0.8, 2 / 3])) < 1e-12


def test_class_never_predicted_has_zero_scores_not_nan() -> None:
    r = classification_report(np.array([0, 1, 1]), np.array([1, 1, 1]), ["a", "b"])
    assert r["per_class"]["a"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_flip_tta_averages_mirror() -> None:
    x = np.arange(2 * 4 * 4).reshape(2, 4, 4, 1).astype(np.float32)
    seen = []

    def predict(batch):
        seen.append(batch.copy())
        return np.tile([[1.0, 0.0]], (len(batch), 1)) if len(seen) == 1 else np.tile([[0.0, 1.0]], (len(batch), 1))

    np.testing.assert_allclose(flip_tta(predict, x), 0.5)
    np.testing.assert_array_equal(seen[1], x[:, :, ::-1])


def test_report_contains_every_class() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 200)
    probs = rng.dirichlet(np.ones(7), 200)
    both = report_both(probs, probs, y, LABELS)
    report = {"task": "emotion", "labels": LABELS, "dataset": "FER-2013", "split": "test", "samples": 200,
              "model": "m.tflite", "parameters": 1, "command": "x", "created": "now",
              "models": {"ours": {"subsets": {"all": both}, "confusion_png": "c.png"}},
              "latency": {"batch1_ms_per_face": 1.0, "batch5_ms_per_face": 0.5, "machine": "cpu"}}
    text = markdown_report(report)
    for label in LABELS:
        assert f"| {label} |" in text
        assert label in both["no_tta"]["per_class"]
    assert "macro F1" in text and "c.png" in text
