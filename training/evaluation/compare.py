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
from typing import Sequence

from training.evaluation.validation_compare import compare, markdown_table


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
