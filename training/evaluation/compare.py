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

r"""
Compare trained models on the VALIDATION split (choices are made here, never on test).

    python -m training.evaluation.compare --task emotion build/runs/emotion_ferplus_soft/model.keras \
        face_perception/models/emotion.keras

Prints a Markdown table: one row per model, one accuracy column per label view
(training.data.label_views: FER+ majority and original labels for emotion), with and without flip TTA,
and the training targets and minutes from each model's run.json / card when there is one.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any, Sequence

from training.data.label_views import label_views, select
from training.evaluation.metrics import classification_report
from training.data.preprocess import normalize


def _provenance(model_path: Path) -> dict[str, Any]:
    """Return what run.json (beside a run's model) or the card (beside a shipped model) says of training."""
    for record in (model_path.with_name("run.json"), model_path.with_suffix(".card.json")):
        if record.is_file():
            data = json.loads(record.read_text())
            return {"targets": data.get("targets", data.get("training_targets", "original")),
                    "epochs": data.get("epochs_run"), "minutes": data.get("training_minutes"),
                    "trained_on": data.get("trained_on", ""),
                    **({"teacher": [m["model"] for m in data["teacher"]["members"]]} if "teacher" in data else {})}
    return {}


def model_record(model_path: Path) -> dict[str, Any] | None:
    """Return a model's run.json (beside a run's model.keras) or card (beside a shipped model), if any."""
    for record in (model_path.with_name("run.json"), model_path.with_suffix(".card.json")):
        if record.is_file():
            return json.loads(record.read_text())
    return None


def model_framing(model_path: Path) -> dict[str, Any] | None:
    """Return the framing a trained model's run (run.json beside it) or shipped card was cut with."""
    record = model_record(model_path)
    return None if record is None else record["input"].get("framing")


def compare(task: str, model_paths: Sequence[Path], data: Path | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    import keras

    from training.data.preprocess import model_color
    from training.data.tasks import load_task_data

    rows, view_names = [], []
    datasets: dict[tuple[int, str, str], Any] = {}
    for path in model_paths:
        model = keras.models.load_model(path, compile=False)
        side, color = int(model.input_shape[1]), model_color(model)  # rgb models: colour faces
        framing = model_framing(path)
        key = (side, color, json.dumps(framing, sort_keys=True))
        if key not in datasets:
            datasets[key] = load_task_data(task, data, side=side, color=color, framing=framing)
        split = datasets[key].splits["validation"]
        x = normalize(split.images)
        probs = model.predict(x, batch_size=256, verbose=0)
        probs_tta = 0.5 * (probs + model.predict(x[:, :, ::-1], batch_size=256, verbose=0))
        labels = datasets[key].labels
        views = label_views(task, split, labels)
        view_names = list(views)
        row: dict[str, Any] = {"model": str(path), "parameters": int(model.count_params()), **_provenance(path)}
        for name, view in views.items():
            y, p, t = select(view, probs, probs_tta)
            row[name] = float((p.argmax(1) == y).mean())
            row[name + ", flip TTA"] = float((t.argmax(1) == y).mean())
            row[name + " faces"] = int(len(y))
            # Recall averaged over the classes present: what a class-balanced set would see.
            row[name + " mean class recall"] = classification_report(y, p.argmax(1), labels)["mean_recall"]
        rows.append(row)
    return view_names, rows


def markdown_table(view_names: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    header = ["model", "targets", "epochs", "minutes", "params"] + [f"{v} (val)" for v in view_names] + \
             [f"{v}, flip TTA (val)" for v in view_names] + [f"{v}, mean class recall (val)" for v in view_names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        targets = str(row.get("targets", "?")) + (" + teacher" if row.get("teacher") else "")
        cells = [f"`{row['model']}`", targets, str(row.get("epochs", "?")),
                 str(row.get("minutes", "?")), str(row["parameters"])]
        cells += [f"{100 * row[v]:.2f}%" for v in view_names]
        cells += [f"{100 * row[v + ', flip TTA']:.2f}%" for v in view_names]
        cells += [f"{100 * row[v + ' mean class recall']:.2f}%" for v in view_names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=("emotion", "gender"), required=True)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    p.add_argument("models", type=Path, nargs="+", help=".keras models (a run's model.keras or a shipped one)")
    args = p.parse_args(argv)
    missing = [str(m) for m in args.models if not m.is_file()]
    if missing:
        raise SystemExit(f"model(s) not found: {', '.join(missing)}")
    view_names, rows = compare(args.task, args.models, args.data)
    print(markdown_table(view_names, rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
