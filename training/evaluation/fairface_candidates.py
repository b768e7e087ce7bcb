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
Gender or age candidates on FairFace's validation half and the task's own validation split (crops).

Each model reads the faces cut by the framing its run.json or card names; the figures and a
Markdown table.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from training.data.age import expected_age
from training.data.preprocess import normalize
from training.models.records import model_framing, model_record


GENDER_COLUMNS = ("gender accuracy", "gender accuracy, adults 20+", "children under 10")


AGE_COLUMNS = ("age group hit rate", "age in years in the right group", "children under 10 read under 13",
               "60+ read 55 or more")


def _age_bins(model_path: Path) -> dict[str, Any]:
    record = model_record(model_path)
    if record is None or "age_bins" not in record:
        raise SystemExit(f"{model_path}: no run.json or card with age_bins beside it")
    return record["age_bins"]


def age_outcome(probabilities: np.ndarray, bins: dict[str, Any]) -> dict[str, np.ndarray]:
    """Return the node's reading of age-bin probabilities: years (expectation), most likely FairFace group."""
    from face_perception.classification.age_groups import AgeGroupReader

    reader = AgeGroupReader(bins["centers_years"], bins.get("edges_years"))
    return {"found": np.ones(len(probabilities), bool), "age": expected_age(probabilities, bins["centers_years"]),
            "age_group": np.array([int(np.argmax(reader.group_probabilities(p))) for p in probabilities]),
            # Uncalibrated: a candidate has no child_calibration yet (training.fit.child_calibration fits it).
            "child_probability": np.array([reader.raw_child_probability(p) for p in probabilities])}


def compare(task: str, model_paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Return one row of figures per model."""
    import keras

    from training.evaluation.fairface_figures import CHILD_GROUPS, summarise
    from training.data.framed import framed_dataset
    from training.data.loaders.fairface import load_fairface
    from training.data.tasks import load_task_data

    rows = []
    for path in model_paths:
        framing = model_framing(path)
        if framing is None:
            raise SystemExit(f"{path}: its run.json or card names no framing (FairFace faces are cut the node's way)")
        model = keras.models.load_model(path, compile=False)
        side, color = int(model.input_shape[1]), "rgb" if model.input_shape[-1] == 3 else "gray"
        fairface = framed_dataset(load_fairface(), framing, side, color).splits["validation"]
        own = load_task_data(task, side=side, color=color, framing=framing).splits["validation"]
        fairface_probs = model.predict(normalize(fairface.images), batch_size=256, verbose=0)
        own_probs = model.predict(normalize(own.images), batch_size=256, verbose=0)
        row: dict[str, Any] = {"model": str(path)}
        if task == "gender":
            found = np.ones(len(fairface), bool)
            outcome = {"found": found, "answer": fairface_probs.argmax(axis=1)}
            nothing = np.full(len(fairface), np.nan)
            summary = summarise(fairface, outcome, {"found": found, "age": nothing, "child_probability": nothing,
                                                    "age_group": np.full(len(fairface), -1)})
            children = np.isin(fairface.extra["age_group"], CHILD_GROUPS)
            summary["children under 10"] = float((outcome["answer"] == fairface.labels)[children].mean())
            row.update({k: summary[k] for k in GENDER_COLUMNS})
            row["own validation accuracy"] = float((own_probs.argmax(axis=1) == own.labels).mean())
        else:
            bins = _age_bins(path)
            outcome = age_outcome(fairface_probs, bins)
            summary = summarise(fairface, {"found": outcome["found"], "answer": fairface.labels}, outcome)
            row.update({k: summary[k] for k in AGE_COLUMNS})
            own_years = age_outcome(own_probs, bins)["age"]
            row["own validation MAE years"] = float(np.abs(own_years - own.extra["age"]).mean())
        rows.append(row)
    return rows


def markdown(task: str, rows: list[dict[str, Any]]) -> str:
    columns = [*(GENDER_COLUMNS if task == "gender" else AGE_COLUMNS),
               "own validation accuracy" if task == "gender" else "own validation MAE years"]
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row in rows:
        cells = [f"{row[c]:.2f}" if "MAE" in c else f"{100 * row[c]:.1f}%" for c in columns]
        lines.append(f"| `{row['model']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
