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
FairFace figures by age group and race, from the end-to-end and crop outcomes.

Gender accuracy, the node's age-group hit rate and the age in years in the right group, children
under 10 and people 60+, `is_child` precision and recall; the Markdown report and the card's record.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from training.data.loaders.fairface import age_group_of, AGE_GROUPS, RACE_LABELS


ADULT_GROUP = AGE_GROUPS.index("20-29")


CHILD_GROUPS = (0, 1)  # 0-2 and 3-9: under 10


OLD_GROUPS = (7, 8)  # 60-69 and 70+


TEEN_GROUP = 2  # 10-19: children (10-12) and not (13-19), left out of the is_child figures


def _rate(hits: np.ndarray) -> float | None:
    return float(hits.mean()) if len(hits) else None


def summarise(split, outcome_gender: dict[str, Any], outcome_age: dict[str, Any]) -> dict[str, Any]:
    """Return the detection rate, gender accuracy and age figures by group and race, over the faces found."""
    found = outcome_gender["found"] & outcome_age["found"]
    groups, races = split.extra["age_group"], split.extra["race"]
    right = outcome_gender["answer"] == split.labels
    ages = outcome_age["age"]
    result: dict[str, Any] = {"faces": int(len(found)), "detected": float(found.mean())}
    result["gender accuracy"] = _rate(right[found])
    result["gender accuracy, adults 20+"] = _rate(right[found & (groups >= ADULT_GROUP)])
    result["gender accuracy by age group"] = {g: _rate(right[found & (groups == i)]) for i, g in enumerate(AGE_GROUPS)}
    result["gender accuracy by race"] = {r: _rate(right[found & (races == i)]) for i, r in enumerate(RACE_LABELS)}
    keep = found & np.isfinite(ages)
    # The node's FaceAttributes.age_group (face_perception.classification.age_groups: the most likely
    # group of the bin distribution), so the report scores what the node publishes.
    predicted_group = outcome_age["age_group"]
    result["age group hit rate"] = _rate((predicted_group == groups)[keep])
    years_group = np.where(np.isfinite(ages), age_group_of(np.nan_to_num(ages)), -1)
    result["age in years in the right group"] = _rate((years_group == groups)[keep])
    result["age group hit rate by age group"] = {g: _rate((predicted_group == groups)[keep & (groups == i)])
                                                 for i, g in enumerate(AGE_GROUPS)}
    result["age group hit rate by race"] = {r: _rate((predicted_group == groups)[keep & (races == i)])
                                            for i, r in enumerate(RACE_LABELS)}
    result["median predicted age by age group"] = {
        g: (float(np.median(ages[keep & (groups == i)])) if (keep & (groups == i)).any() else None)
        for i, g in enumerate(AGE_GROUPS)}
    result["children under 10 read under 13"] = _rate(ages[keep & np.isin(groups, CHILD_GROUPS)] < 13)
    result["60+ read 55 or more"] = _rate(ages[keep & np.isin(groups, OLD_GROUPS)] >= 55)
    result.update(is_child_figures(outcome_age["child_probability"], groups, keep))
    return result


def is_child_figures(child_probability: np.ndarray, groups: np.ndarray, keep: np.ndarray,
                     threshold: float = 0.5) -> dict[str, Any]:
    """
    Return precision and recall of the node's is_child (P(child) >= ``threshold``) on FairFace.

    Children are groups 0-2 and 3-9; 10-19 holds both children (10-12) and not, so its faces are
    left out of both figures, and the share of them read as children is given on its own.
    """
    scored = keep & (groups != TEEN_GROUP)
    said = (child_probability >= threshold)[scored]
    child = np.isin(groups[scored], CHILD_GROUPS)
    hits = int((said & child).sum())
    return {"is_child precision (no 10-19)": hits / int(said.sum()) if said.any() else None,
            "is_child recall (no 10-19)": hits / int(child.sum()) if child.any() else None,
            "10-19 read as child": _rate(child_probability[keep & (groups == TEEN_GROUP)] >= threshold),
            "said child (no 10-19)": int(said.sum()), "children (no 10-19)": int(child.sum())}


def markdown_report(report: dict[str, Any]) -> str:
    """Return the report as Markdown: headline rows per setting, then the per-group and per-race tables."""
    results = report["results"]
    settings = list(results)

    def cell(value: Any, years: bool = False) -> str:
        if value is None:
            return ""
        return f"{value:.1f}" if years else f"{100 * value:.1f}%"

    lines = [f"# FairFace: gender and age by age group and race, {report['split']} split", "",
             f"Command: `{report['command']}`", "",
             f"Models: {', '.join(f'{task} `{path}`' for task, path in report['models'].items())}", "",
             f"Faces: {report['faces']} ({report['split']} split); BlazeFace found no face in "
             f"{report['no_face_found']} when re-detecting the sources (those keep the median keypoint layout).", ""]
    headline = ["detected", "gender accuracy", "gender accuracy, adults 20+", "age group hit rate",
                "age in years in the right group", "children under 10 read under 13", "60+ read 55 or more",
                "is_child precision (no 10-19)", "is_child recall (no 10-19)", "10-19 read as child"]
    lines += ["| setting | " + " | ".join(headline) + " |", "|" + " --- |" * (len(headline) + 1)]
    lines += [f"| {s} | " + " | ".join(cell(results[s][h]) for h in headline) + " |" for s in settings]
    for key, names, years in (("gender accuracy by age group", AGE_GROUPS, False),
                              ("age group hit rate by age group", AGE_GROUPS, False),
                              ("median predicted age by age group", AGE_GROUPS, True),
                              ("gender accuracy by race", RACE_LABELS, False),
                              ("age group hit rate by race", RACE_LABELS, False)):
        counts = report["counts"]["age_group" if names is AGE_GROUPS else "race"]
        lines += ["", f"**{key[0].upper() + key[1:]}** (faces per column in the header)", "",
                  "| setting | " + " | ".join(f"{n} ({counts[n]})" for n in names) + " |",
                  "|" + " --- |" * (len(names) + 1)]
        lines += [f"| {s} | " + " | ".join(cell(results[s][key][n], years) for n in names) + " |" for s in settings]
    lines += ["", "Every figure is over the faces the row's detector found (`detected` is that share; a cell is empty "
              "where it found none of the column's faces). Faces are pasted whole into 640x480 photos at the row's "
              "face width and read by the node's pipeline (`training.evaluation.end_to_end`); `crop (no detector)` is "
              "each model on the FairFace image cut by its card's framing from the re-detected keypoints. The age "
              "group hit rate scores the node's `FaceAttributes.age_group` (the most likely of FairFace's groups under "
              "the model's bin distribution, `face_perception.classification.age_groups`); `age in years in the right "
              "group` maps the predicted age in years to the groups (0-2 is under 3, ..., 70 and over). "
              "`children under 10` are groups 0-2 and 3-9, `60+` groups 60-69 and more than 70. `is_child` is the "
              "node's `FaceAttributes.is_child` at the default `classification.child_threshold` 0.5 (calibrated "
              "P(under 13) from the card's `child_calibration`), children = groups 0-2 and 3-9, the 10-19 faces "
              "left out (they hold children and not)."]
    return "\n".join(lines) + "\n"


def record_in_card(model_path: str, report: dict[str, Any]) -> Path:
    """Write the report into a model's card as ``metrics.fairface`` (the card re-validated)."""
    from training.evaluation.pasted_faces import rounded_results, write_card_metrics

    return write_card_metrics(model_path, "fairface", {
        "command": report["command"], "split": report["split"], "faces": report["faces"],
        "models": report["models"], "split_rule": report["split_rule"],
        "method": "FairFace faces pasted whole into 640x480 photos at each face width, read by the node's pipeline "
                  "(detector -> framing -> models); rates over the faces found; 'crop (no detector)' is the models "
                  "on the faces cut by their framing", "results": rounded_results(report)})
