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

"""NumPy cache of decoded arrays so the second run skips CSV / JPEG decoding."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from training.data.dataset import Dataset, Split
from training.paths import CACHE_DIR


def cache_key(source: Path, **params: object) -> str:
    """Key on the source file's identity (path, size, mtime) and the decoding parameters."""
    stat = source.stat()
    text = json.dumps([str(source.resolve()), stat.st_size, int(stat.st_mtime), params], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def save_dataset(dataset: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name, split in dataset.splits.items():
        arrays[f"{name}/images"] = split.images
        arrays[f"{name}/labels"] = split.labels
        for key, value in split.extra.items():
            arrays[f"{name}/extra/{key}"] = value
    meta = {"name": dataset.name, "labels": dataset.labels, "info": dataset.info}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def load_dataset(path: Path) -> Dataset:
    with np.load(path) as data:
        meta = json.loads(data["__meta__"].tobytes().decode())
        splits: dict[str, Split] = {}
        for key in data.files:
            if key.endswith("/labels"):
                name = key[: -len("/labels")]
                prefix = f"{name}/extra/"
                extra = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
                splits[name] = Split(data[f"{name}/images"], data[key], extra)
    return Dataset(meta["name"], meta["labels"], splits, meta["info"])


def cached(source: Path, loader: Callable[[], Dataset], cache_dir: Path | None = CACHE_DIR,
           **params: object) -> Dataset:
    """Return the cached dataset for ``source`` or run ``loader`` and store its result."""
    if cache_dir is None:
        return loader()
    path = Path(cache_dir) / f"{Path(source).name}.{cache_key(Path(source), **params)}.npz"
    if path.exists():
        return load_dataset(path)
    dataset = loader()
    save_dataset(dataset, path)
    return dataset
