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
Prior correction folded into the model: the class conv's bias minus tau * log(training prior).

A model trained on FER+ also learns FER's class frequencies (neutral and happy are two thirds of
the faces, disgust under 1%), so on a set where every expression is about equally common (a
lab-posed set) it says neutral too often and disgust and fear too rarely. Dividing the
probabilities by prior^tau (post-hoc logit adjustment, Menon et al. 2021) moves that balance; as
the model ends in class conv -> global average pooling -> softmax, subtracting tau * log(prior)
from the class conv's bias does exactly that inside the model, at no cost per face.

    python -m training.fit.logit_adjust --task emotion --run build/runs/emotion

Scores each tau on the VALIDATION split and keeps the best mean of two numbers: accuracy on the
primary labels (FER+ majority) and mean class recall on the six emotions without neutral (our
stand-in for balanced, lab-posed sets); with RAF-DB joined, the union's accuracy and its mean
class recall over all seven classes. Writes ``<run>_adjusted/``
(model.keras, run.json with the adjustment) for ``training.models.export --run``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Sequence

import numpy as np

from training.fit.derived_run import save_derived_run, step_command
from training.fit.prior_correction import (adjusted_probabilities, AGE_TAUS, CRITERION, fold_into_model, learnt_prior,
                                           TAU_CHOICE, TAUS, UNION_CRITERION)
from training.paths import trained_run


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=tuple(TAU_CHOICE), default="emotion")
    p.add_argument("--run", type=Path, default=None, help="training run folder (default build/runs/<task>)")
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--taus", type=float, nargs="+", default=None,
                   help=f"taus to score (default emotion {TAUS}, age {AGE_TAUS})")
    args = p.parse_args(argv)

    import keras

    from training.data.preprocess import normalize
    from training.data.tasks import load_task_data

    model_path, _, run = trained_run(args.run, args.task)
    run_dir = model_path.parent
    if "logit_adjustment" in run:
        raise SystemExit(f"{run_dir} is already adjusted (tau {run['logit_adjustment']['tau']})")
    model = keras.models.load_model(model_path, compile=False)
    hyperparameters = run.get("hyperparameters", {})
    dataset = load_task_data(args.task, args.data, side=int(model.input_shape[1]),
                             framing=run["input"].get("framing"), emotion_sets=hyperparameters.get("sets"),
                             pseudo=hyperparameters.get("pseudo"))
    prior = learnt_prior(model, dataset.splits["train"].images)
    choose, criterion, default_taus = TAU_CHOICE[args.task]
    tau, rows = choose(model, dataset, prior, run, args.taus or default_taus)
    if criterion is None:
        criterion = UNION_CRITERION if "source_set" in dataset.splits["validation"].extra else CRITERION

    validation = dataset.splits["validation"].images[:256]
    probs = model.predict(normalize(validation), batch_size=256, verbose=0)
    fold_into_model(model, prior, tau)
    check = model.predict(normalize(validation), batch_size=256, verbose=0)
    if not np.allclose(check, adjusted_probabilities(probs, prior, tau), atol=1e-4):
        raise RuntimeError("the adjusted model does not reproduce the adjusted probabilities")
    out = save_derived_run(model, run_dir, "_adjusted", run, "logit_adjustment", {
        "tau": tau, "prior": {label: float(v) for label, v in zip(dataset.labels, prior)},
        "prior_source": "the model's mean probabilities over the training faces",
        "criterion": criterion, "validation": rows, "adjusted_from": str(model_path),
        "command": step_command("training.fit.logit_adjust", argv),
    })
    print(f"tau {tau} folded into class_conv's bias; wrote {out / 'model.keras'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
