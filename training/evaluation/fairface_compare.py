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
Gender or age candidates side by side on FairFace's VALIDATION half and the task's own validation split.

    python -m training.evaluation.fairface_compare --task age face_perception/models/age.keras \
        build/runs/age_wild/model.keras

Each .keras model reads the faces cut by the framing its run.json or card names (crops, no
detector; ``training.evaluation.fairface_report`` runs the node's pipeline on a shipped model). Gender:
FairFace accuracy, adults 20+ and children under 10, and UTKFace + LFW validation accuracy.
Age: FairFace's age-group hit rate of the node's ``age_group``, the age in years in the right
group, children under 10 read under 13 and 60+ read 55 or more, and UTKFace validation MAE.
Choices are made on these numbers; test figures are for the shipped model only.
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Sequence

from training.evaluation.fairface_candidates import compare, markdown


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=("gender", "age"), required=True)
    p.add_argument("models", type=Path, nargs="+", help=".keras models with run.json or a card beside them")
    args = p.parse_args(argv)
    print(markdown(args.task, compare(args.task, args.models)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
