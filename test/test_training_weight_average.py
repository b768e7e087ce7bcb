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

"""A fine-tuned model averaged with its start (training.fit.weight_average)."""
from __future__ import annotations

import numpy as np
import pytest

from training.fit.weight_average import averaged_weights, choose_alpha, set_scores

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_the_average_lies_between_the_two_models_and_keeps_them_at_the_ends() -> None:
    from training.models.architectures import build_model

    fine_tuned = build_model("mini_xception", (48, 48, 1), 7, l2=0.0)
    start = build_model("mini_xception", (48, 48, 1), 7, l2=0.0)
    a, b = fine_tuned.get_weights(), start.get_weights()
    assert any(not np.array_equal(x, y) for x, y in zip(a, b))  # two different random starts
    for alpha, expected in ((0.0, b), (1.0, a)):
        for got, want in zip(averaged_weights(a, b, alpha), expected):
            np.testing.assert_array_equal(got, want)
    half = averaged_weights(a, b, 0.5)
    for got, x, y in zip(half, a, b):
        assert got.dtype == x.dtype
        np.testing.assert_allclose(got, 0.5 * (x + y), rtol=1e-6)
    fine_tuned.set_weights(half)  # the averaged weights load into the architecture and run
    faces = np.random.default_rng(0).uniform(-1, 1, (4, 48, 48, 1)).astype(np.float32)
    probs = fine_tuned.predict(faces, verbose=0)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_two_different_architectures_are_refused_with_the_reason() -> None:
    a = [np.zeros((3, 3)), np.zeros(3)]
    with pytest.raises(ValueError, match="weight array 1 has shape"):
        averaged_weights(a, [np.zeros((3, 3)), np.zeros(4)], 0.5)
    with pytest.raises(ValueError, match="not the same architecture"):
        averaged_weights(a, a[:1], 0.5)


def test_each_set_counts_once_however_many_faces_it_has() -> None:
    """A big set read perfectly cannot hide a small set read badly."""
    big, small = 900, 100
    y = np.concatenate([np.arange(big) % 7, np.arange(small) % 7])
    probs = np.eye(7)[y].astype(float)
    probs[big:] = np.eye(7)[(y[big:] + 1) % 7]  # the small set always wrong
    views = {"big labels": (np.arange(big + small) < big, y), "small labels": (np.arange(big + small) >= big, y)}
    row = set_scores(probs, views, ["big labels", "small labels"], LABELS)
    assert row["big labels"] == 1.0 and row["small labels"] == 0.0
    assert row["score"] == pytest.approx(0.5)  # not 0.9, the faces' share


def test_the_best_alpha_wins_and_a_tie_goes_to_the_fine_tuned_side() -> None:
    rows = [{"alpha": 0.0, "score": 0.6}, {"alpha": 0.5, "score": 0.7}, {"alpha": 1.0, "score": 0.65}]
    assert choose_alpha(rows) == 0.5
    assert choose_alpha([{"alpha": 0.25, "score": 0.7}, {"alpha": 0.75, "score": 0.7}]) == 0.75


def test_a_derived_run_keeps_the_record_and_history_and_adds_the_step(tmp_path) -> None:
    import json

    from training.fit.derived_run import save_derived_run, step_command
    from training.models.architectures import build_model

    source = tmp_path / "emotion_three_adjusted"
    source.mkdir()
    (source / "history.csv").write_text("epoch,val_accuracy\n0,0.5\n")
    run = {"task": "emotion", "logit_adjustment": {"tau": 0.0}}
    model = build_model("mini_xception", (48, 48, 1), 7, l2=0.0)
    command = step_command("training.fit.weight_average", ["--run", str(source)])
    out = save_derived_run(model, source, "_averaged", run, "weight_average", {"alpha": 0.5, "command": command})
    assert out == tmp_path / "emotion_three_adjusted_averaged"
    assert (out / "model.keras").is_file() and (out / "history.csv").read_text() == (source / "history.csv").read_text()
    record = json.loads((out / "run.json").read_text())
    assert record["logit_adjustment"] == {"tau": 0.0}  # the earlier steps stay
    expected_command = f"python -m training.fit.weight_average --run {source}"
    assert record["weight_average"] == {"alpha": 0.5, "command": expected_command}
