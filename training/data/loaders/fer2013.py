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

"""FER-2013 loaders: the challenge CSV (``emotion,pixels,Usage``) and the image-folder layout."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from training.data.cache import cached
from training.data.dataset import Dataset, Split
from training.paths import CACHE_DIR

EMOTION_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
# The challenge's Usage column maps onto the splits papers report: PrivateTest is the test set.
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}
# Folder releases name their split directories in several ways.
FOLDER_TO_SPLIT = {"train": "train", "training": "train", "val": "validation", "validation": "validation",
                   "publictest": "validation", "test": "test", "privatetest": "test"}
SIDE = 48
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm"}


def _decode_pixels(pixels: pd.Series, path: Path) -> np.ndarray:
    """Parse the space-separated pixel strings in one pass (much faster than per-row parsing)."""
    lengths = pixels.str.count(" ") + 1
    bad = np.flatnonzero(lengths.to_numpy() != SIDE * SIDE)
    if len(bad):
        raise ValueError(f"{path}: row {int(bad[0])} has {int(lengths.iloc[bad[0]])} pixels, "
                         f"expected {SIDE * SIDE}")
    flat = np.array(" ".join(pixels.tolist()).split(), dtype=np.int32)
    if flat.min() < 0 or flat.max() > 255:
        raise ValueError(f"{path}: pixel values outside 0..255")
    return flat.astype(np.uint8).reshape(-1, SIDE, SIDE)


def read_fer2013_csv(path: Path | str) -> Dataset:
    """Read the challenge CSV (plain or .gz, detected from the name) into train/validation/test."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FER-2013 CSV not found: {path}")
    frame = pd.read_csv(path, dtype={"emotion": "int64", "pixels": "str", "Usage": "str"})
    missing = {"emotion", "pixels", "Usage"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected emotion,pixels,Usage")
    unknown = set(frame["Usage"].unique()) - set(USAGE_TO_SPLIT)
    if unknown:
        raise ValueError(f"{path}: unknown Usage value(s) {sorted(unknown)}")
    if frame["emotion"].min() < 0 or frame["emotion"].max() >= len(EMOTION_LABELS):
        raise ValueError(f"{path}: emotion labels outside 0..{len(EMOTION_LABELS) - 1}")
    images = _decode_pixels(frame["pixels"], path)
    labels = frame["emotion"].to_numpy(np.int64)
    splits = {}
    for usage, name in USAGE_TO_SPLIT.items():
        mask = (frame["Usage"] == usage).to_numpy()
        if mask.any():
            # The CSV data row of each face: FER+ votes refer to faces by it.
            splits[name] = Split(images[mask], labels[mask], {"row": np.flatnonzero(mask)})
    info = {"source": path.name, "layout": "csv", "split_rule": "Usage: Training=train, "
            "PublicTest=validation, PrivateTest=test"}
    return Dataset("FER-2013", list(EMOTION_LABELS), splits, info)


def read_fer2013_folder(root: Path | str) -> Dataset:
    """Read ``<root>/<split>/<class>/*.jpg``; class folder names must be FER's emotion names."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"FER-2013 folder not found: {root}")
    splits: dict[str, Split] = {}
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        split = FOLDER_TO_SPLIT.get(split_dir.name.lower())
        if split is None:
            continue
        images, labels = [], []
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            name = class_dir.name.lower()
            if name not in EMOTION_LABELS:
                raise ValueError(f"{class_dir}: unknown class folder '{class_dir.name}'; "
                                 f"expected one of {EMOTION_LABELS}")
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
                if image is None:
                    raise ValueError(f"{file}: cannot decode image")
                if image.shape != (SIDE, SIDE):
                    image = cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
                images.append(image)
                labels.append(EMOTION_LABELS.index(name))
        if images:
            splits[split] = Split(np.stack(images), np.array(labels, dtype=np.int64))
    if "train" not in splits:
        raise ValueError(f"{root}: no train/<class>/ images found")
    if "validation" not in splits and "test" in splits:
        # Many folder copies ship only train/test: the test folder is the validation set too.
        splits["validation"] = splits["test"]
    info = {"source": root.name, "layout": "folder", "split_rule": "folders train/ validation/ test/"}
    return Dataset("FER-2013", list(EMOTION_LABELS), splits, info)


def load_fer2013(path: Path | str, cache_dir: Path | None = CACHE_DIR) -> Dataset:
    """Load either layout by what ``path`` is, through the NumPy cache."""
    path = Path(path)
    if path.is_dir():
        return read_fer2013_folder(path)  # folders are small and quick; cache only the CSV
    if not path.is_file():
        raise FileNotFoundError(f"FER-2013 data not found: {path} (pass --data)")
    return cached(path, lambda: read_fer2013_csv(path), cache_dir, kind="fer2013-csv-v2")
