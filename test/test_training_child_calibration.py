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

"""The child calibration's fit and the reports' is_child and age-group figures."""
from __future__ import annotations

import numpy as np
import pytest

from face_perception.classification.age_groups import ChildCalibration
from training.evaluation.fairface_figures import is_child_figures
from training.evaluation.pasted_faces import age_group_figures
from training.fit.child_probability import fit_platt, logit, precision_recall


def test_platt_fit_recovers_the_scaling_that_made_the_labels() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.001, 0.999, 20000)
    truth = ChildCalibration(1.6, -0.8)
    y = (rng.random(len(raw)) < np.array([truth.apply(float(p)) for p in raw])).astype(np.int64)
    a, b = fit_platt(logit(raw), y)
    assert a == pytest.approx(1.6, abs=0.08) and b == pytest.approx(-0.8, abs=0.08)


def test_already_calibrated_probabilities_fit_to_the_identity() -> None:
    rng = np.random.default_rng(4)
    raw = rng.uniform(0.01, 0.99, 20000)
    y = (rng.random(len(raw)) < raw).astype(np.int64)
    a, b = fit_platt(logit(raw), y)
    assert a == pytest.approx(1.0, abs=0.06) and b == pytest.approx(0.0, abs=0.06)


def test_precision_and_recall_count_children() -> None:
    p = np.array([0.9, 0.6, 0.4, 0.1, 0.7])
    y = np.array([1, 0, 1, 0, 1])
    figures = precision_recall(p, y)
    assert figures["precision"] == pytest.approx(2 / 3) and figures["recall"] == pytest.approx(2 / 3)
    assert precision_recall(np.zeros(3), np.zeros(3))["precision"] is None


def test_end_to_end_scores_the_nodes_group_and_is_child_on_exact_ages() -> None:
    ages = np.array([1.0, 8.0, 12.0, 19.0, 20.0, 45.0])
    outcome = {"age_group": np.array([0, 1, 1, 2, 2, 5]), "child_probability": np.array([0.9, 0.8, 0.3, 0.6, 0.1, 0.0])}
    keep = np.array([True, True, True, True, True, False])
    figures = age_group_figures(outcome, ages, keep)
    assert figures["age group hit rate"] == pytest.approx(3 / 5)  # 12 is 10-19, 20 is 20-29
    assert figures["is_child precision"] == pytest.approx(2 / 3) and figures["is_child recall"] == pytest.approx(2 / 3)


def test_fairface_is_child_leaves_10_19_out() -> None:
    groups = np.array([0, 1, 2, 2, 3, 4])
    child = np.array([0.9, 0.2, 0.9, 0.1, 0.7, 0.1])
    figures = is_child_figures(child, groups, np.ones(6, bool))
    assert figures["is_child precision (no 10-19)"] == pytest.approx(1 / 2)
    assert figures["is_child recall (no 10-19)"] == pytest.approx(1 / 2)
    assert figures["children (no 10-19)"] == 2 and figures["said child (no 10-19)"] == 2
    assert figures["10-19 read as child"] == pytest.approx(1 / 2)
