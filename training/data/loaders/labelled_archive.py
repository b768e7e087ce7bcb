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

"""A gzip tar of JPEG faces with a labels CSV (RAF-DB's and FairFace's layout), read once in archive order."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
import io
from pathlib import Path
import tarfile
from typing import Mapping, Sequence, TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from training.data.dataset import Split


@dataclass
class LabelledImages:
    """Every CSV row (sorted by ``path``), and the rows whose image decoded with that image (RGB uint8)."""

    rows: list[dict[str, str]]
    decoded: list[tuple[dict[str, str], np.ndarray]] = field(default_factory=list)
    missing_images: int = 0
    skipped_undecodable: int = 0


def read_labelled_archive(path: Path, labels_member: str) -> LabelledImages:
    """Read ``labels_member`` and every ``.jpg`` of the tar at ``path``, then decode each row's image."""
    import cv2

    jpegs: dict[str, bytes] = {}
    rows: list[dict[str, str]] | None = None
    with tarfile.open(path) as tar:
        for member in tar:  # archive order: a jump back would decompress the gzip stream again
            if not member.isfile():
                continue
            data = tar.extractfile(member).read()
            if member.name == labels_member:
                rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
            elif member.name.endswith(".jpg"):
                jpegs[member.name] = data
    if rows is None:
        raise ValueError(f"{path}: no {labels_member} in the archive")
    result = LabelledImages(sorted(rows, key=lambda r: r["path"]))
    for row in result.rows:
        data = jpegs.get(row["path"])
        if data is None:
            result.missing_images += 1
            continue
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            result.skipped_undecodable += 1
            continue
        result.decoded.append((row, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))
    return result


def checked_labels(path: Path, archive: LabelledImages, column: str, labels: Sequence[str]) -> np.ndarray:
    """Return the decoded rows' ``column`` as indices into ``labels``; a row naming another label is refused."""
    for row in archive.rows:
        if row[column] not in labels:
            raise ValueError(f"{path}: {row['path']} has {column} '{row[column]}', expected one of {tuple(labels)}")
    return np.array([labels.index(row[column]) for row, _ in archive.decoded], np.int64)


def split_class_counts(splits: Mapping[str, "Split"], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """Return split name -> label -> faces, for a loader's provenance record."""
    return {name: {label: int((split.labels == i).sum()) for i, label in enumerate(labels)}
            for name, split in splits.items()}
