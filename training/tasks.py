"""Per-task defaults: which data set, labels and input size each shipped model uses."""
from __future__ import annotations

from pathlib import Path

from training.dataset import Dataset, Split
from training.paths import CACHE_DIR, DEFAULT_FER2013, DEFAULT_UTKFACE
from training.preprocess import resize_batch

TASKS = ("emotion", "gender")
DEFAULT_DATA = {"emotion": DEFAULT_FER2013, "gender": DEFAULT_UTKFACE}
# UTKFace split: seeded, by file, 80 / 10 / 10.
UTKFACE_SPLIT_SEED = 1337
UTKFACE_FRACTIONS = (0.8, 0.1, 0.1)


def load_task_data(task: str, data: Path | str | None = None, side: int = 48,
                   cache_dir: Path | None = CACHE_DIR) -> Dataset:
    """Grey uint8 images [N, side, side] with integer labels for ``task``."""
    if task not in TASKS:
        raise ValueError(f"unknown task '{task}'; choose from {TASKS}")
    path = Path(data) if data is not None else DEFAULT_DATA[task]
    if path.suffix == ".npz":
        # A decoded cache written by training.cache (e.g. carried to a machine without the raw data).
        from training.cache import load_dataset
        dataset = load_dataset(path)
    elif task == "emotion":
        from training.fer2013 import load_fer2013
        dataset = load_fer2013(path, cache_dir=cache_dir)
    else:
        from training.utkface import load_utkface_gender
        dataset = load_utkface_gender(path, seed=UTKFACE_SPLIT_SEED, fractions=UTKFACE_FRACTIONS,
                                      side=max(side, 48), cache_dir=cache_dir)
    for name, split in dataset.splits.items():
        dataset.splits[name] = Split(resize_batch(split.images, side), split.labels, split.extra)
    return dataset
