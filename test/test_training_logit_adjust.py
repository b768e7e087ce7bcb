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

"""Prior correction folded into the class conv's bias (training.fit.logit_adjust)."""
from __future__ import annotations

import numpy as np
import pytest

from training.data.label_views import POSED_VIEW
from training.fit.prior_correction import adjusted_probabilities, choose_tau, fold_into_model

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_the_folded_bias_gives_exactly_the_adjusted_probabilities() -> None:
    from training.models.architectures import build_model

    model = build_model("mini_xception", (48, 48, 1), 7, l2=0.0)
    faces = np.random.default_rng(0).uniform(-1, 1, (8, 48, 48, 1)).astype(np.float32)
    before = model.predict(faces, verbose=0)
    prior = np.array([0.09, 0.01, 0.03, 0.27, 0.14, 0.12, 0.34])
    fold_into_model(model, prior, 0.5)
    np.testing.assert_allclose(model.predict(faces, verbose=0), adjusted_probabilities(before, prior, 0.5),
                               atol=1e-5)
    with pytest.raises(ValueError, match="classes"):
        fold_into_model(model, prior[:3], 0.5)


def test_tau_is_chosen_for_accuracy_and_the_six_emotions_together() -> None:
    """
    Check a moderate tau is chosen for a model that calls uncertain faces neutral.

    A model that calls every uncertain face neutral: a moderate tau fixes the rare classes
    without giving up much accuracy, and tau 0 is not chosen.
    """
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(7), [40, 10, 10, 120, 60, 50, 150])
    probs = np.full((len(y), 7), 0.05)
    probs[np.arange(len(y)), y] = 0.3
    probs[:, 6] += 0.35 * (y != 6) * (rng.random(len(y)) < 0.5)  # half the emotions look neutral
    probs[:, 6] += 0.4 * (y == 6)
    probs /= probs.sum(1, keepdims=True)
    views = {"FER+ majority labels": (None, y), POSED_VIEW: (y != 6, y)}
    prior = np.bincount(y, minlength=7) / len(y)
    tau, rows = choose_tau(probs, views, prior)
    assert [r["tau"] for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tau > 0.0
    chosen = next(r for r in rows if r["tau"] == tau)
    assert chosen["posed_mean_recall"] > rows[0]["posed_mean_recall"]
    assert chosen["score"] == max(r["score"] for r in rows)


def test_adjusted_probabilities_stay_distributions() -> None:
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    prior = np.array([0.8, 0.1, 0.1])
    out = adjusted_probabilities(probs, prior, 1.0)
    np.testing.assert_allclose(out.sum(1), 1.0)
    assert out[0].argmax() == 1  # 0.5 / 0.8 < 0.3 / 0.1: the frequent class loses its head start
    np.testing.assert_allclose(adjusted_probabilities(probs, prior, 0.0), probs)


def squeezed_readings(true_bins: np.ndarray, num_bins: int, pull: float) -> np.ndarray:
    """Return the readings of a model that puts mass on the true bin and, by its prior, on the middle bin."""
    probs = np.full((len(true_bins), num_bins), 0.01)
    probs[np.arange(len(true_bins)), true_bins] += 1.0
    probs[:, num_bins // 2] += pull
    return probs / probs.sum(axis=1, keepdims=True)


def test_age_tau_undoes_a_squeeze_within_the_mae_slack() -> None:
    from training.fit.prior_correction import AGE_MAE_SLACK, choose_age_tau

    centers = [1.0, 6.0, 15.0, 25.0, 35.0, 45.0, 55.0, 65.0, 80.0]  # one bin per FairFace group
    groups = np.repeat(np.arange(9), 20)
    prior = np.array([0.03, 0.05, 0.08, 0.2, 0.28, 0.2, 0.08, 0.05, 0.03])
    fairface = squeezed_readings(groups, 9, pull=1.5)  # the middle bin wins everywhere without correction
    utk_ages = np.asarray(centers)[groups]
    tau, rows = choose_age_tau(fairface, groups, squeezed_readings(groups, 9, 1.5), utk_ages, prior, centers)
    assert rows[0]["tau"] == 0.0 and rows[0]["fairface_under_10_read_under_13"] < 0.5
    chosen = next(r for r in rows if r["tau"] == tau)
    assert tau > 0 and chosen["score"] > rows[0]["score"]
    assert chosen["fairface_under_10_read_under_13"] > rows[0]["fairface_under_10_read_under_13"]
    assert chosen["fairface_60_plus_read_55_plus"] > rows[0]["fairface_60_plus_read_55_plus"]
    # A tau that costs UTKFace more than the slack is not taken, however FairFace scores it: here
    # every UTKFace face is 35 and read right at tau 0, and any correction moves it away.
    utk_middle = squeezed_readings(np.full(len(groups), 4), 9, 0.0)
    tau, rows = choose_age_tau(fairface, groups, utk_middle, np.full(len(groups), 35.0), prior, centers)
    allowed = [r["tau"] for r in rows if r["utkface_mae_years"] <= rows[0]["utkface_mae_years"] + AGE_MAE_SLACK]
    assert tau in allowed and len(allowed) < len(rows)
