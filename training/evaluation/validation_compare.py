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

"""Candidates side by side on the VALIDATION split: accuracy, flip TTA and mean class recall per label view."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from training.data.label_views import label_views, select
from training.data.preprocess import normalize
from training.evaluation.metrics import classification_report
from training.models.records import model_framing, provenance


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
        row: dict[str, Any] = {"model": str(path), "parameters": int(model.count_params()), **provenance(path)}
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
