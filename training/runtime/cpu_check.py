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
Run the TensorFlow paths that crashed on some CPUs once, on a small real model, and report.

    python -m training.runtime.cpu_check --color rgb --step guided_backprop
    python -m training.runtime.cpu_check --color gray --step train

Prints one JSON line: the settings in force (training.runtime.tensorflow_runtime.describe), whether
oneDNN is in use, and the step's result (finite or not). A crash shows as the process dying,
which is why the tests run each step in a process of its own.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

import numpy as np

from training.runtime import tensorflow_runtime


def guided_backprop_step(color: str, size: int, seed: int) -> dict[str, Any]:
    """Run guided back-prop of a random face through a mini-Xception; report the gradient's finiteness and scale."""
    import keras

    from training.evaluation.saliency import guided_backprop
    from training.models.architectures import build_mini_xception

    keras.utils.set_random_seed(seed)
    channels = 3 if color == "rgb" else 1
    model = build_mini_xception((size, size, channels), 7)
    image = np.random.default_rng(seed).uniform(-1, 1, (size, size, channels)).astype(np.float32)
    gradient = guided_backprop(model, image, class_index=3)
    return {"shape": list(gradient.shape), "finite": bool(np.isfinite(gradient).all()),
            "abs_mean": float(np.abs(gradient).mean())}


def training_step(color: str, size: int, seed: int, steps: int = 3) -> dict[str, Any]:
    """Run a few optimiser steps (the filter gradients oneDNN computes in training) on random faces."""
    import keras

    from training.models.architectures import build_mini_xception

    keras.utils.set_random_seed(seed)
    channels = 3 if color == "rgb" else 1
    model = build_mini_xception((size, size, channels), 7)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (16, size, size, channels)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 16)]
    losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
    weights_finite = all(np.isfinite(w).all() for w in model.get_weights())
    return {"losses": losses, "finite": bool(np.isfinite(losses).all() and weights_finite)}


def fit_speed(color: str, size: int, seed: int, faces: int = 2048, epochs: int = 3) -> dict[str, Any]:
    """Measure CPU milliseconds per face of steady-state ``fit`` epochs (mini_xception_wide, batch 32, one thread)."""
    import time

    import keras
    import tensorflow as tf

    from training.models.architectures import build_model

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    channels = 3 if color == "rgb" else 1
    model = build_model("mini_xception_wide", (size, size, channels), 7)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (faces, size, size, channels)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, faces)]
    model.fit(x[:256], y[:256], batch_size=32, epochs=1, verbose=0)  # tracing, not timed
    per_face = []
    for _ in range(epochs):
        # CPU time of this process: steady under other load on the machine, unlike wall time.
        start = time.process_time()
        history = model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        per_face.append(round((time.process_time() - start) / faces * 1000.0, 3))
    return {"cpu_ms_per_face": per_face, "finite": bool(np.isfinite(history.history["loss"]).all())}


STEPS = {"guided_backprop": guided_backprop_step, "train": training_step, "fit_speed": fit_speed}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--step", choices=sorted(STEPS), required=True)
    p.add_argument("--color", choices=("gray", "rgb"), default="gray")
    p.add_argument("--size", type=int, default=48, help="input side in pixels (the shipped models: 48 or 64)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    result = STEPS[args.step](args.color, args.size, args.seed)
    report = {"step": args.step, "color": args.color, "size": args.size, **result,
              "onednn_in_use": tensorflow_runtime.onednn_in_use(), "settings": tensorflow_runtime.describe()}
    print(json.dumps(report))
    return 0 if result["finite"] else 1


if __name__ == "__main__":
    sys.exit(main())
