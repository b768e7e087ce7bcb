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

"""The in-memory form every loader returns: uint8 images plus integer labels per split."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Split:
    """Images as uint8 [N, H, W] grey (or [N, H, W, 3] colour) and int64 labels [N]."""

    images: np.ndarray
    labels: np.ndarray
    # Optional per-sample metadata (e.g. UTKFace age), same length as labels.
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    name: str
    labels: list[str]
    splits: dict[str, Split]
    # Provenance recorded in the model card (source file, seed, counts, skipped rows, ...).
    info: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {name: len(split) for name, split in self.splits.items()}

    def class_counts(self, split: str) -> dict[str, int]:
        counts = np.bincount(self.splits[split].labels, minlength=len(self.labels))
        return {label: int(n) for label, n in zip(self.labels, counts)}
