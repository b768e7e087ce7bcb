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

"""Architectures: parameter counts (the paper's) and output shapes."""
from __future__ import annotations

import numpy as np
import pytest

from training.models.architectures import build_mini_xception, build_model, build_simple_cnn


@pytest.mark.parametrize("side", [48, 64])
def test_mini_xception_matches_paper_parameter_count(side: int) -> None:
    # The paper's published emotion / gender models have 58,423 / 52,658 parameters.
    assert build_mini_xception((side, side, 1), 7).count_params() == 58423
    assert build_mini_xception((side, side, 1), 2).count_params() == 52658


def test_output_is_softmax_of_right_shape() -> None:
    model = build_mini_xception((48, 48, 1), 7)
    assert model.input_shape == (None, 48, 48, 1)
    assert model.output_shape == (None, 7)
    probs = model.predict(np.random.default_rng(0).uniform(-1, 1, (3, 48, 48, 1)).astype(np.float32), verbose=0)
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()


def test_wide_variant_stays_under_100k_and_baseline_builds() -> None:
    wide = build_model("mini_xception_wide", (48, 48, 1), 7)
    assert 58423 < wide.count_params() <= 100_000
    simple = build_simple_cnn((48, 48, 1), 2)
    assert simple.output_shape == (None, 2)
    assert not any("dense" in layer.name for layer in simple.layers)  # fully convolutional
    with pytest.raises(ValueError, match="unknown --arch"):
        build_model("resnet", (48, 48, 1), 7)
