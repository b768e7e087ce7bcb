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

from training.evaluation.fairface_figures import markdown_report, record_in_card, summarise


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

    from face_perception.classification.classification import FaceClassifier, resolve_model_path
    from face_perception.classification.framing import EyesMouthFraming
    from training.evaluation.pasted_faces import crop_outcome, run_end_to_end
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


if __name__ == "__main__":
    sys.exit(main())
