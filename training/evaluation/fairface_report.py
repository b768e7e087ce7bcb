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
Gender and age on FairFace, by age group and race, end to end and on the crops.

FairFace's faces are re-detected by the node's BlazeFace (training.data.framed), pasted whole into
camera frames and read by the node's pipeline (training.evaluation.end_to_end) with each detector; the
crop row is the models on the faces cut by their cards' framing, no detector. Gender:
accuracy overall, on adults (20+), per age group and per race. Age: the node's age group
(FaceAttributes.age_group) against FairFace's (hit rate), the predicted age in years mapped to
the groups, the median predicted age per true group, children under 10 read under 13, people of
60+ read 55 or more, and precision / recall of the node's is_child (10-19 left out).

    python -m training.evaluation.fairface_report --split validation --json build/fairface_validation.json
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys
from typing import Any, Sequence

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
    # The node's FaceAttributes.age_group (face_perception.attributes.age_groups: the most likely
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
              "face width and read by the node's pipeline (`training.evaluation.end_to_end`); `crop (no detector)` is each "
              "model on the FairFace image cut by its card's framing from the re-detected keypoints. The age group "
              "hit rate scores the node's `FaceAttributes.age_group` (the most likely of FairFace's groups under "
              "the model's bin distribution, `face_perception.attributes.age_groups`); `age in years in the right "
              "group` maps the predicted age in years to the groups (0-2 is under 3, ..., 70 and over). "
              "`children under 10` are groups 0-2 and 3-9, `60+` groups 60-69 and more than 70. `is_child` is the "
              "node's `FaceAttributes.is_child` at the default `classification.child_threshold` 0.5 (calibrated "
              "P(under 13) from the card's `child_calibration`), children = groups 0-2 and 3-9, the 10-19 faces "
              "left out (they hold children and not)."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", choices=("validation", "test"), default="validation",
                   help="validation for choices; test only for a shipped model's figure")
    p.add_argument("--fairface", type=Path, default=None, help="fairface_val_1k_224px.tar.gz (default: ../shared/data)")
    p.add_argument("--gender-model", default="", help=".tflite with its card (default: shipped)")
    p.add_argument("--age-model", default="", help=".tflite with its card (default: shipped)")
    p.add_argument("--sizes", type=int, nargs="+", default=[96, 48, 24], help="face widths in the frame, pixels")
    p.add_argument("--backends", nargs="+", choices=("blazeface", "haar"), default=["blazeface", "haar"])
    p.add_argument("--json", type=Path, default=None, help="also write this JSON and a .md beside it")
    p.add_argument("--card", action="store_true",
                   help="also record the results in the gender and age models' cards (metrics.fairface); "
                        "use on the test split for the shipped models")
    args = p.parse_args(argv)

    from face_perception.attributes.classification import FaceClassifier, resolve_model_path
    from face_perception.attributes.framing import EyesMouthFraming
    from training.evaluation.end_to_end import crop_outcome, run_end_to_end
    from training.data.framed import framed_dataset
    from training.data.loaders.fairface import DEFAULT_FAIRFACE, load_fairface
    from training.paths import REPO_ROOT

    models = {task: getattr(args, f"{task}_model", "") or str(resolve_model_path("", task))
              for task in ("gender", "age", "emotion")}
    card = FaceClassifier(models["gender"], "gender").card
    # Only the sources and their keypoints are used; the framing entry just has to be a valid one.
    entry = card.framing if card.framing is not None else EyesMouthFraming().describe()
    dataset = framed_dataset(load_fairface(args.fairface or DEFAULT_FAIRFACE), entry, 48, "rgb")
    split = dataset.splits[args.split]
    labels = list(dataset.labels)
    counts = dataset.info["counts"][args.split]
    report: dict[str, Any] = {
        "split": args.split, "faces": len(split),
        "no_face_found": dataset.info["framing"]["counts"][args.split]["no_face_found"],
        "models": {t: os.path.relpath(models[t], REPO_ROOT) for t in ("gender", "age")},
        "command": "python -m training.evaluation.fairface_report " + " ".join(sys.argv[1:] if argv is None else argv),
        "counts": {"age_group": counts["age_group"], "race": counts["race"]}, "split_rule": dataset.info["split_rule"],
        "results": {}}
    gender_crops = crop_outcome(split, models["gender"], "gender", len(split), labels)
    age_crops = crop_outcome(split, models["age"], "age", len(split), labels)
    report["results"]["crop (no detector)"] = summarise(split, gender_crops, age_crops)
    for backend in args.backends:
        for size in args.sizes:
            # One pass gives both: the pipeline runs every model on each face it finds.
            outcome = run_end_to_end(split, labels, backend, size, models, task="gender")
            report["results"][f"{backend} {size}px"] = summarise(split, outcome, outcome)
            print(f"{backend} {size}px done in {outcome['seconds']:.0f} s", flush=True)
    for setting, summary in report["results"].items():
        print(setting, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in summary.items()
                        if not isinstance(v, dict)}, flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(markdown_report(report))
    if args.card:
        for task in ("gender", "age"):
            print(f"recorded in {record_in_card(models[task], report)}", flush=True)
    return 0


def record_in_card(model_path: str, report: dict[str, Any]) -> Path:
    """Write the report into a model's card as ``metrics.fairface`` (the card re-validated)."""
    from training.evaluation.end_to_end import rounded_results, write_card_metrics

    return write_card_metrics(model_path, "fairface", {
        "command": report["command"], "split": report["split"], "faces": report["faces"],
        "models": report["models"], "split_rule": report["split_rule"],
        "method": "FairFace faces pasted whole into 640x480 photos at each face width, read by the node's pipeline "
                  "(detector -> framing -> models); rates over the faces found; 'crop (no detector)' is the models "
                  "on the faces cut by their framing", "results": rounded_results(report)})


if __name__ == "__main__":
    sys.exit(main())
