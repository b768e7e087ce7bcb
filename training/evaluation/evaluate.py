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
Evaluate a shipped model on its test split, side by side with the paper's published model.

    python -m training.evaluation.evaluate --task emotion

Writes docs/evaluation/<task>.json and .md, confusion-matrix PNGs (ours and the paper's) and a
guided-backprop example PNG. Accuracy, per-class precision/recall/F1, macro F1, with and without
horizontal-flip test-time augmentation; adults (18+) separately for gender; LiteRT latency per face.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Sequence

from training.evaluation.test_report import evaluate, evaluate_age, markdown_report
from training.paths import DEFAULT_ANCHOR_DIR, EVAL_DIR, MODELS_DIR


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=("emotion", "gender", "age"), required=True)
    p.add_argument("--model", type=Path, default=None, help="default face_perception/models/<task>.tflite")
    p.add_argument("--data", type=Path, default=None, help="default ../shared/data/...")
    p.add_argument("--anchor-dir", type=Path, default=DEFAULT_ANCHOR_DIR, help="the paper's models")
    p.add_argument("--out", type=Path, default=EVAL_DIR)
    args = p.parse_args(argv)
    model = args.model or MODELS_DIR / f"{args.task}.tflite"
    if not model.is_file():
        raise SystemExit(f"--model {model} not found: export first "
                         f"(python -m training.models.export --task {args.task})")
    command = "python -m training.evaluation.evaluate " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.task == "age":
        report = evaluate_age(model, args.data, args.out, command)
        print((args.out / "age.md").read_text())
        return 0
    report = evaluate(args.task, model, args.data, args.anchor_dir, args.out, command)
    print(markdown_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
