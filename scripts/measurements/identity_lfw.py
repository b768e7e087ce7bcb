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

"""LFW for identity: a seeded split by person; the archive's path and reader are training's (``training.paths``)."""
from __future__ import annotations

import json
from pathlib import Path
import random
import sys
import tarfile

# training (LFW's path and reader), for this module and the scripts that import it, run from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from training.data.loaders.lfw import read_labels  # noqa: E402

SPLIT_SEED = 28
VALIDATION_FRACTION = 0.3


def split_people(tar: tarfile.TarFile, min_images: int = 2, seed: int = SPLIT_SEED
                 ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return (validation, test): person -> image paths, people with >= ``min_images``, split by person."""
    by_person: dict[str, list[str]] = {}
    for row in read_labels(tar):
        by_person.setdefault(row["person"], []).append(row["path"])
    people = sorted(p for p, paths in by_person.items() if len(paths) >= min_images)
    random.Random(seed).shuffle(people)
    cut = int(round(VALIDATION_FRACTION * len(people)))
    return ({p: sorted(by_person[p]) for p in people[:cut]}, {p: sorted(by_person[p]) for p in people[cut:]})


def limit_images(people: dict[str, list[str]], max_people: int, max_per_person: int) -> dict[str, list[str]]:
    """Keep the first ``max_people`` people (in the split's seeded order), at most ``max_per_person`` images each."""
    return {p: paths[:max_per_person] for p, paths in list(people.items())[:max_people]}


def write_report(out: Path | str, report: dict) -> None:
    """Write the report as JSON to ``out`` (its folder made) and print it."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
