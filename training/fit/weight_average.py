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
A fine-tuned model averaged, weight by weight, with the model it started from.

Fine-tuning on a new mix of sets (FER+, RAF-DB and ExpW together) moves the model toward the
new sets and away from what the starting model did well (FER-2013's grey posed chips). Averaging
the two models' weights, ``alpha * fine_tuned + (1 - alpha) * start``, keeps much of both: the
two lie in one basin, as the fine-tune began at the start's weights (Wortsman et al., "Robust
fine-tuning of zero-shot models", 2022). Same architecture, same cost per face.

    python -m training.fit.weight_average --task emotion --run build/runs/emotion_three_adjusted

Scores each alpha on the VALIDATION split by SET_CRITERION (every data set counted once, however
many faces it has) and writes ``<run>_averaged/`` (model.keras, run.json with the choice) for
``training.models.export --run``. The start defaults to the run's ``--init-weights``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Any, Sequence

import numpy as np

from training.fit.derived_run import save_derived_run, step_command
from training.paths import trained_run

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
SET_CRITERION = ("mean over the data sets (FER+ majority, RAF-DB, ExpW; each counted once) of the mean of the "
                 "set's accuracy and its mean class recall (validation)")


def averaged_weights(fine_tuned: Sequence[np.ndarray], start: Sequence[np.ndarray], alpha: float) -> list[np.ndarray]:
    """``alpha * fine_tuned + (1 - alpha) * start``, array by array; the two must have the same shapes."""
    if len(fine_tuned) != len(start):
        raise ValueError(f"the models have {len(fine_tuned)} and {len(start)} weight arrays: not the same architecture")
    out = []
    for index, (a, b) in enumerate(zip(fine_tuned, start)):
        if a.shape != b.shape:
            raise ValueError(f"weight array {index} has shape {a.shape} in one model and {b.shape} in the other")
        out.append((alpha * a + (1.0 - alpha) * b).astype(a.dtype))
    return out


def view_scores(probs: np.ndarray, views: dict, name: str, labels: list[str]) -> dict[str, float]:
    """One label view's accuracy and mean class recall, keyed as the report writes them."""
    from training.data.label_views import select
    from training.evaluation.metrics import classification_report

    y, p, _ = select(views[name], probs, probs)
    return {name: float((p.argmax(1) == y).mean()),
            name + " mean class recall": float(classification_report(y, p.argmax(1), labels)["mean_recall"])}


def set_scores(probs: np.ndarray, views: dict, set_views: Sequence[str], labels: list[str]) -> dict[str, float]:
    """Each set's accuracy and mean class recall, and SET_CRITERION's score over them."""
    row: dict[str, float] = {}
    for name in set_views:
        row.update(view_scores(probs, views, name, labels))
    row["score"] = float(np.mean([0.5 * (row[name] + row[name + " mean class recall"]) for name in set_views]))
    return row


def choose_alpha(rows: Sequence[dict[str, Any]]) -> float:
    """Return the alpha with the best score; ties go to the larger one (the model trained on the most data)."""
    best = max(rows, key=lambda r: (round(r["score"], 6), r["alpha"]))
    return float(best["alpha"])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=("emotion",), default="emotion")
    p.add_argument("--run", type=Path, required=True, help="the fine-tuned run folder (model.keras, run.json)")
    p.add_argument("--start", type=Path, default=None,
                   help="the model the fine-tune started from (default: the run's --init-weights)")
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS),
                   help=f"weights of the fine-tuned model to score (default {ALPHAS})")
    args = p.parse_args(argv)
    if any(not 0.0 <= a <= 1.0 for a in args.alphas):
        raise SystemExit(f"--alphas must lie in [0, 1], got {args.alphas}")

    import keras

    from training.data.label_views import label_views, UNION_VIEW
    from training.data.preprocess import normalize
    from training.data.tasks import load_task_data

    model_path, _, run = trained_run(args.run, args.task)
    hyperparameters = run.get("hyperparameters", {})
    start_path = args.start or (Path(hyperparameters["init_weights"]) if hyperparameters.get("init_weights") else None)
    if start_path is None:
        raise SystemExit(f"{model_path.parent}/run.json names no --init-weights: pass --start")
    if not start_path.is_file():
        raise SystemExit(f"{start_path} not found: the start model of {model_path.parent}")
    fine_tuned = keras.models.load_model(model_path, compile=False)
    fine_tuned_weights = fine_tuned.get_weights()
    start_weights = keras.models.load_model(start_path, compile=False).get_weights()
    try:
        averaged_weights(fine_tuned_weights, start_weights, 1.0)
    except ValueError as err:
        raise SystemExit(f"{model_path} and {start_path}: {err}") from None

    dataset = load_task_data(args.task, args.data, side=int(fine_tuned.input_shape[1]),
                             framing=run["input"].get("framing"), emotion_sets=hyperparameters.get("sets"))
    validation = dataset.splits["validation"]
    views = label_views(args.task, validation, dataset.labels)
    set_views = [name for name in views if name.endswith(" labels") and name != "FER-2013 original labels"]
    x = normalize(validation.images)

    model = keras.models.clone_model(fine_tuned)
    rows = []
    for alpha in sorted(set(args.alphas)):
        model.set_weights(averaged_weights(fine_tuned_weights, start_weights, alpha))
        probs = model.predict(x, batch_size=256, verbose=0)
        row = {"alpha": alpha, **set_scores(probs, views, set_views, dataset.labels)}
        if UNION_VIEW in views:  # reported beside the choice, not part of it
            row.update(view_scores(probs, views, UNION_VIEW, dataset.labels))
        rows.append(row)
        sets = ", ".join(f"{name} {100 * row[name]:.2f}% (mean recall {100 * row[name + ' mean class recall']:.2f}%)"
                         for name in set_views)
        print(f"alpha {alpha:.2f}: {sets}, score {100 * row['score']:.2f}")
    alpha = choose_alpha(rows)
    model.set_weights(averaged_weights(fine_tuned_weights, start_weights, alpha))
    out = save_derived_run(model, model_path.parent, "_averaged", run, "weight_average", {
        "alpha": alpha, "fine_tuned": str(model_path), "start": str(start_path),
        "rule": "alpha * fine_tuned + (1 - alpha) * start, every weight (batch-norm statistics included)",
        "criterion": SET_CRITERION, "validation": rows,
        "command": step_command("training.fit.weight_average", argv),
    })
    print(f"alpha {alpha} chosen on validation; wrote {out / 'model.keras'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
