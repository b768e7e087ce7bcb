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
End-to-end accuracy.

End-to-end accuracy: data set faces pasted whole into camera frames and read by the node's
real pipeline (detector -> framing -> model), next to the same models on the data set's crops.

Every face of a split is pasted, whole (head, hair, chin and the data set's own background),
into a 640x480 frame cut from one of scikit-image's photos (none shows a person). It is
scaled so that its face is ``face_px`` pixels wide (its eye distance at BlazeFace's mean
share of a face box, from the keypoints found when the data set was re-detected), at a seeded
random place, and the frame gets seeded light, blur and JPEG changes. The real
:class:`FacePerceptionPipeline` reads the frame with tracking smoothing off; the face whose box
centre is nearest the pasted face's (within half a face width) is the answer, and a frame
where none is found counts as a missed face.

    python -m training.evaluation.end_to_end --task gender --split validation --limit 600
    python -m training.evaluation.end_to_end --task gender --gender-model build/runs/gender/gender.float32.tflite
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import sys
from typing import Any, Sequence

import numpy as np

from training.evaluation.pasted_faces import (BACKENDS, crop_outcome, FACE_SIZES, markdown_report, record_in_card,
                                              run_end_to_end, summarise)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=("gender", "age", "emotion"), required=True)
    p.add_argument("--split", choices=("validation", "test"), default="test",
                   help="validation for choices, test for the shipped model's figure")
    p.add_argument("--gender-model", default="", help=".tflite with its card (default: shipped)")
    p.add_argument("--age-model", default="", help=".tflite with its card (default: shipped)")
    p.add_argument("--emotion-model", default="", help=".tflite with its card (default: shipped)")
    p.add_argument("--sizes", type=int, nargs="+", default=list(FACE_SIZES))
    p.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    p.add_argument("--limit", type=int, default=0, help="N evenly spaced faces of the split only (0 = all)")
    p.add_argument("--paper", action="store_true", help="also the paper's model of the task on the node's boxes")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--card", action="store_true",
                   help="also record the results in the evaluated model's card (metrics.end_to_end); use on the "
                        "test split for a shipped model")
    args = p.parse_args(argv)

    from face_perception.classification.classification import FaceClassifier, resolve_model_path
    from face_perception.classification.framing import EyesMouthFraming
    from training.data.tasks import load_task_data

    models = {task: getattr(args, f"{task}_model") or str(resolve_model_path("", task))
              for task in ("gender", "age", "emotion")}
    # The sources and their keypoints come from the framed loader, whatever the model's framing.
    card = FaceClassifier(models[args.task], args.task).card
    entry = card.framing if card.framing is not None else EyesMouthFraming().describe()
    dataset = load_task_data(args.task, side=48, framing=entry)
    from training.data.dataset import Split

    split = dataset.splits[args.split]
    labels = list(dataset.labels)
    if args.task == "age":
        split = Split(split.images, split.extra["gender"], split.extra)
        labels = ["male", "female"]
    if args.limit and args.limit < len(split):  # evenly spaced faces: every set and age keeps its share
        rows = np.linspace(0, len(split) - 1, args.limit).round().astype(np.int64)
        split = Split(split.images[rows], split.labels[rows], {k: v[rows] for k, v in split.extra.items()})
    from training.paths import REPO_ROOT

    shown = {task: os.path.relpath(path, REPO_ROOT) for task, path in models.items()}
    report: dict[str, Any] = {"task": args.task, "split": args.split, "models": shown, "limit": args.limit,
                              "command": "python -m training.evaluation.end_to_end "
                                         + " ".join(sys.argv[1:] if argv is None else argv),
                              "results": {}}
    crops = crop_outcome(split, models[args.task], args.task, len(split), labels)
    summary = summarise(args.task, split, labels, crops)
    report["results"]["crop (no detector)"] = summary
    print("crop (no detector)  " + "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                             for k, v in summary.items() if not k.endswith(" faces")), flush=True)
    for backend in args.backends:
        for size in args.sizes:
            paper = args.task if args.paper and args.task != "age" else ""
            outcome = run_end_to_end(split, labels, backend, size, models, paper=paper, task=args.task)
            summary = summarise(args.task, split, labels, outcome)
            # The crop figure on the faces this detector found: the detector keeps the easier
            # faces, so end to end against crop is compared on the same faces too.
            for name, value in summarise(args.task, split, labels, dict(crops, found=outcome["found"])).items():
                # (is_child recall is kept: it is one figure, not a per-class recall.)
                skip = (name.endswith((" faces", " recall", " per class")) and not name.startswith("is_child")) \
                    or name in ("faces", "detected", "seconds")
                if not skip:
                    summary[f"crop, same faces: {name}"] = value
            if paper and len(outcome["paper_rows"]):
                from training.models.anchor import anchor_predict

                paper_outcome = dict(outcome, answer=np.full(len(split), -1, np.int64))
                paper_outcome["answer"][outcome["paper_rows"]] = anchor_predict(paper, outcome["paper_crops"]).argmax(1)
                for name, value in summarise(args.task, split, labels, paper_outcome).items():
                    if not name.endswith((" faces", " per class")) and name not in ("faces", "detected", "seconds"):
                        summary[f"paper {name}"] = value
            report["results"][f"{backend} {size}px"] = summary
            print(f"{backend:9s} {size:3d}px  " + "  ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()
                if not k.endswith(" faces")), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(markdown_report(report))
    if args.card:
        path = record_in_card(models[args.task], report)
        print(f"recorded in {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
