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

"""LFW (../shared/data/lfw_gender_112px.tar) for identity: a seeded split by person, images read from the tar."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
import random
import tarfile

import cv2
import numpy as np

LFW_TAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "lfw_gender_112px.tar"
SPLIT_SEED = 28
VALIDATION_FRACTION = 0.3


def split_people(tar: tarfile.TarFile, min_images: int = 2, seed: int = SPLIT_SEED
                 ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return (validation, test): person -> image paths, people with >= ``min_images``, split by person."""
    labels = tar.extractfile("lfw/labels.csv")
    assert labels is not None
    by_person: dict[str, list[str]] = {}
    for row in csv.DictReader(io.TextIOWrapper(labels, encoding="utf-8")):
        by_person.setdefault(row["person"], []).append(row["path"])
    people = sorted(p for p, paths in by_person.items() if len(paths) >= min_images)
    random.Random(seed).shuffle(people)
    cut = int(round(VALIDATION_FRACTION * len(people)))
    return ({p: sorted(by_person[p]) for p in people[:cut]}, {p: sorted(by_person[p]) for p in people[cut:]})


def read_bgr(tar: tarfile.TarFile, path: str) -> np.ndarray:
    member = tar.extractfile(path)
    assert member is not None, path
    image = cv2.imdecode(np.frombuffer(member.read(), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode {path}")
    return image


def limit_images(people: dict[str, list[str]], max_people: int, max_per_person: int) -> dict[str, list[str]]:
    """Keep the first ``max_people`` people (in the split's seeded order), at most ``max_per_person`` images each."""
    return {p: paths[:max_per_person] for p, paths in list(people.items())[:max_people]}


def write_report(out: Path | str, report: dict) -> None:
    """Write the report as JSON to ``out`` (its folder made) and print it."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
