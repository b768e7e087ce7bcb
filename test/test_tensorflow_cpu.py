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
The TensorFlow paths that crashed on AVX-512 CPUs, each in a process of its own.

TensorFlow 2.21's oneDNN kernels aborted guided back-prop (``conv2d_backprop_filter``) on an
Intel Xeon and an AMD Zen 4 with AVX-512. Each step runs as a user runs it, with the
environment as the user has it (no oneDNN variable set by the test), so a crash shows as the
child process dying, with its exit status, instead of taking the test run down.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

# Each test runs TensorFlow in fresh processes (30-60 s each on 2 cores).
pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parent.parent


def user_environment() -> dict[str, str]:
    """Return this process's environment without anything that chooses oneDNN's settings."""
    return {key: value for key, value in os.environ.items()
            if key not in ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "FACE_PERCEPTION_ONEDNN_DEFAULT")}


def run_python(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env=user_environment() if env is None else env)


@pytest.mark.parametrize("color", ["gray", "rgb"])
@pytest.mark.parametrize("step", ["guided_backprop", "train"])
def test_the_step_that_crashed_runs_in_a_fresh_process(step: str, color: str) -> None:
    result = run_python(["-m", "training.runtime.cpu_check", "--step", step, "--color", color])
    assert result.returncode == 0, (f"exit {result.returncode} (negative: killed by signal)\n"
                                    + result.stdout[-1500:] + result.stderr[-3000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["finite"] is True
    assert report["onednn_in_use"] is False
    assert report["settings"]["TF_ENABLE_ONEDNN_OPTS"].startswith("0 (training's default")
    if step == "guided_backprop":
        assert report["shape"] == [48, 48, 3 if color == "rgb" else 1]
        assert report["abs_mean"] > 0.0  # a gradient, not zeros
    else:
        assert len(report["losses"]) == 3


def test_graph_guided_backprop_equals_the_eager_gradient() -> None:
    # Eager guided back-prop is safe with oneDNN off; the graph version must give the same numbers.
    code = """
import training  # first, as every training entry point does: oneDNN off before TensorFlow loads
import numpy as np, keras, tensorflow as tf
from training.evaluation.saliency import guided_backprop, guided_relu_patched
from training.models.architectures import build_mini_xception
keras.utils.set_random_seed(1)
model = build_mini_xception((48, 48, 3), 7)
image = np.random.default_rng(1).uniform(-1, 1, (48, 48, 3)).astype(np.float32)
graph = guided_backprop(model, image, 2)
with guided_relu_patched(model):
    x = tf.convert_to_tensor(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = model(x, training=False)[:, 2]
    eager = tape.gradient(score, x).numpy()[0]
np.testing.assert_allclose(graph, eager, rtol=1e-4, atol=1e-7)
assert np.abs(graph).mean() > 0
print("same")
"""
    result = run_python(["-c", code])
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("same")


def test_an_explicit_user_choice_is_kept_and_reported() -> None:
    env = {**user_environment(), "TF_ENABLE_ONEDNN_OPTS": "1"}
    code = ("import os, json, training; from training.runtime import tensorflow_runtime as r; "
            "print(json.dumps([os.environ['TF_ENABLE_ONEDNN_OPTS'], r.describe()['TF_ENABLE_ONEDNN_OPTS']]))")
    result = run_python(["-c", code], env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == ["1", "1 (set by the user)"]


def test_tensorflow_loaded_before_training_is_refused_with_one_line() -> None:
    result = run_python(["-c", "import tensorflow; import training"])
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "TensorFlowAlreadyLoaded" in last and "import training" in last and "TF_ENABLE_ONEDNN_OPTS=0" in last


def test_the_settings_name_the_cpu_and_its_avx512_flags() -> None:
    from training.runtime import tensorflow_runtime

    settings = tensorflow_runtime.describe()
    assert settings["cpu"]
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " avx512f" in flags:
        assert "avx512f" in settings["avx512"].split()
    else:
        assert settings["avx512"] == "none"
    assert settings["tensorflow"][0].isdigit()
