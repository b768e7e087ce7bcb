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

"""Per-task defaults: which data set, labels and input size each shipped model uses."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from training.data.dataset import Dataset, Split
from training.data.preprocess import resize_batch
from training.paths import (CACHE_DIR, DEFAULT_EXPW, DEFAULT_FER2013, DEFAULT_FERPLUS_VOTES, DEFAULT_LFW,
                            DEFAULT_RAFDB, DEFAULT_UTKFACE)

TASKS = ("emotion", "gender", "age")
DEFAULT_DATA = {"emotion": DEFAULT_FER2013, "gender": DEFAULT_UTKFACE, "age": DEFAULT_UTKFACE}
# UTKFace split (gender and age share it): seeded, by file, 80 / 10 / 10.
UTKFACE_SPLIT_SEED = 1337
UTKFACE_FRACTIONS = (0.8, 0.1, 0.1)


# Emotion data sets read through the node's framing (--framing eyes_mouth), in the order they are
# joined (extra['source_set'] is the index here). A new set is one more loader in emotion_sources.
EMOTION_SETS = ("fer2013", "rafdb", "expw")
EMOTION_SET_NAMES = {"fer2013": "FER-2013", "rafdb": "RAF-DB", "expw": "ExpW"}
# Sets whose images show a whole scene around the labelled face (ExpW: the face is the central half):
# the face nearest the image centre is the labelled one, not the most confident.
CENTRED_SETS = ("expw",)

COLORS = ("gray", "rgb")
# Tasks whose data set has colour faces; FER-2013 (emotion) is grey only.
COLOR_TASKS = ("gender", "age")


def check_color(task: str, color: str) -> None:
    """Raise SystemExit with one line when ``task`` cannot be trained in ``color``."""
    if color not in COLORS:
        raise SystemExit(f"--color {color}: choose one of {COLORS}")
    if color != "gray" and task not in COLOR_TASKS:
        raise SystemExit(f"--task {task} --color {color}: FER-2013 has grey faces only; "
                         f"colour input is for {' and '.join(COLOR_TASKS)} (UTKFace)")


def load_task_data(task: str, data: Path | str | None = None, side: int = 48,
                   cache_dir: Path | None = CACHE_DIR, votes: Path | str | None = None,
                   color: str = "gray", framing: Mapping[str, Any] | None = None,
                   lfw: Path | str | None = None, emotion_sets: Sequence[str] | None = None,
                   rafdb: Path | str | None = None, pseudo: Path | str | None = None) -> Dataset:
    """
    Grey uint8 images [N, side, side] (``color="rgb"``: [N, side, side, 3], R, G, B) with integer labels for ``task``.

    Emotion: FER-2013 with the original labels; with FER+ votes (``votes``, or by default
    ../shared/data/ferplus_votes.csv when ``data`` is the default FER-2013 file) each split also
    carries the FER+ targets (training.data.loaders.ferplus). Age: UTKFace with the age bin as label and the age in
    ``extra['age']``.

    ``framing`` (a card's ``input.framing``): the faces are re-detected with the node's
    detector and cut by the node's framing function (training.data.framed) instead of resizing the
    data set's image (FER-2013's grey faces are replicated into R, G, B); gender then joins LFW
    (``lfw``, default ../shared/data) to UTKFace, with
    ``extra['source_set']`` (0 UTKFace, 1 LFW). Framed emotion joins ``emotion_sets`` (default:
    FER-2013 with FER+ and RAF-DB for the default data, FER-2013 alone for a given ``data``) the same way.
    ``pseudo`` (training.fit.pseudo_labels' .npz, framed gender and age only): RAF-DB's faces the teacher
    was sure of join the training split with its answers as labels (``extra['pseudo_labelled']``).
    """
    if framing is not None:
        dataset = _framed_task_data(task, data, side, cache_dir, color, framing, lfw, votes, emotion_sets, rafdb)
        if pseudo is not None:
            dataset = _with_pseudo_labels(task, dataset, Path(pseudo), side, cache_dir, color, framing, rafdb)
        return dataset
    if pseudo is not None:
        raise SystemExit("--pseudo: pseudo-labelled faces are cut by the node's framing; give --framing eyes_mouth")
    if task not in TASKS:
        raise ValueError(f"unknown task '{task}'; choose from {TASKS}")
    check_color(task, color)
    path = Path(data) if data is not None else DEFAULT_DATA[task]
    if path.suffix == ".npz":
        # A decoded cache written by training.data.cache (e.g. carried to a machine without the raw data).
        from training.data.cache import load_dataset
        dataset = load_dataset(path)
        found = "rgb" if next(iter(dataset.splits.values())).images.ndim == 4 else "gray"
        if found != color:
            raise SystemExit(f"{path} holds {found} faces, not {color} (--color)")
    elif task == "emotion":
        from training.data.loaders.fer2013 import load_fer2013
        dataset = load_fer2013(path, cache_dir=cache_dir)
        # The votes name rows of the full FER-2013 CSV: attach them by default only to that file.
        votes_path = Path(votes) if votes is not None else DEFAULT_FERPLUS_VOTES
        if votes is not None or (data is None and votes_path.is_file()):
            from training.data.loaders.ferplus import attach_ferplus
            dataset = attach_ferplus(dataset, votes_path)
    else:
        from training.data.loaders.utkface import load_utkface_gender
        dataset = load_utkface_gender(path, seed=UTKFACE_SPLIT_SEED, fractions=UTKFACE_FRACTIONS,
                                      side=max(side, 48), cache_dir=cache_dir, color=color)
        if task == "age":
            dataset = _as_age(dataset)
    for name, split in dataset.splits.items():
        dataset.splits[name] = Split(resize_batch(split.images, side), split.labels, split.extra)
    return dataset


def _framed_task_data(task: str, data: Path | str | None, side: int, cache_dir: Path | None, color: str,
                      framing: Mapping[str, Any], lfw: Path | str | None, votes: Path | str | None,
                      emotion_sets: Sequence[str] | None = None, rafdb: Path | str | None = None) -> Dataset:
    from training.data.framed import framed_dataset, join, SOURCE_SIDE
    from training.data.loaders.utkface import load_utkface_gender

    check_color(task, color)
    path = Path(data) if data is not None else DEFAULT_DATA[task]
    if task == "emotion":
        asked = tuple(emotion_sets) if emotion_sets else (EMOTION_SETS if data is None else ("fer2013",))
        unknown = [name for name in asked if name not in EMOTION_SETS]
        if unknown:
            raise SystemExit(f"--sets {' '.join(unknown)}: unknown emotion data set; choose from {EMOTION_SETS}")
        names = [name for name in EMOTION_SETS if name in asked]  # one order, one source_set code per set
        framed = [framed_dataset(emotion_sources(name, data, cache_dir, votes, rafdb), framing, side, color,
                                 cache_dir, central=name in CENTRED_SETS) for name in names]
        if names == ["fer2013"]:
            return framed[0]
        joined = join(framed, [EMOTION_SET_NAMES[name] for name in names],
                      codes=[EMOTION_SETS.index(name) for name in names])
        joined.info["framing"] = framed[0].info["framing"] | {"counts": {
            EMOTION_SET_NAMES[name]: part.info["framing"]["counts"] for name, part in zip(names, framed)}}
        return joined
    sources = load_utkface_gender(path, seed=UTKFACE_SPLIT_SEED, fractions=UTKFACE_FRACTIONS,
                                  side=SOURCE_SIDE, cache_dir=cache_dir, color="rgb")
    dataset = framed_dataset(sources, framing, side, color, cache_dir)
    if task == "age":
        return _as_age(dataset)
    from training.data.loaders.lfw import load_lfw_gender

    lfw_path = Path(lfw) if lfw is not None else DEFAULT_LFW
    lfw_set = framed_dataset(load_lfw_gender(lfw_path, seed=UTKFACE_SPLIT_SEED, fractions=UTKFACE_FRACTIONS,
                                             cache_dir=cache_dir), framing, side, color, cache_dir)
    joined = join([dataset, lfw_set], ("UTKFace", "LFW"))
    joined.info["framing"] = dataset.info["framing"] | {"counts": {
        "UTKFace": dataset.info["framing"]["counts"], "LFW": lfw_set.info["framing"]["counts"]}}
    return joined


def emotion_sources(name: str, data: Path | str | None, cache_dir: Path | None, votes: Path | str | None,
                    rafdb: Path | str | None) -> Dataset:
    """
    One emotion data set as RGB source images to re-detect, with FER+-style targets in every split.

    ``extra['ferplus_soft']`` is the target distribution and ``extra['ferplus_majority']`` the
    label scored: FER+ vote distributions and majorities for FER-2013's faces; RAF-DB's label
    (the majority of its ~40 annotators) and ExpW's (one annotation) as a one-hot distribution and
    as the majority.
    """
    if name == "fer2013":
        # FER-2013's 48x48 grey faces, with their FER+ targets, replicated into R, G, B.
        grey = load_task_data("emotion", data, side=48, cache_dir=cache_dir, votes=votes)
        return Dataset(grey.name, grey.labels, {
            split_name: Split(np.repeat(split.images[..., None], 3, axis=3), split.labels, split.extra)
            for split_name, split in grey.splits.items()}, grey.info)
    if name == "expw":
        from training.data.loaders.expw import load_expw
        dataset = load_expw(DEFAULT_EXPW, cache_dir=cache_dir)
    else:
        from training.data.loaders.rafdb import load_rafdb
        dataset = load_rafdb(Path(rafdb) if rafdb is not None else DEFAULT_RAFDB, cache_dir=cache_dir)
    eye = np.eye(len(dataset.labels), dtype=np.float32)
    splits = {split_name: Split(split.images, split.labels, {
        **split.extra, "row": np.full(len(split), -1, np.int64), "ferplus_soft": eye[split.labels],
        "ferplus_majority": split.labels.copy()}) for split_name, split in dataset.splits.items()}
    return Dataset(dataset.name, dataset.labels, splits, dataset.info)


def _with_pseudo_labels(task: str, dataset: Dataset, pseudo: Path, side: int, cache_dir: Path | None, color: str,
                        framing: Mapping[str, Any], rafdb: Path | str | None) -> Dataset:
    """``dataset`` with RAF-DB's pseudo-labelled training faces added to its training split only."""
    import json

    from training.data.framed import framed_dataset, join
    from training.data.loaders.rafdb import load_rafdb

    if task not in COLOR_TASKS:
        raise SystemExit(f"--pseudo is for --task {' or '.join(COLOR_TASKS)}")
    record_path = pseudo.with_suffix(".json")
    if not (pseudo.is_file() and record_path.is_file()):
        raise SystemExit(f"--pseudo {pseudo}: not found with its {record_path.name} "
                         "(python -m training.fit.pseudo_labels)")
    record = json.loads(record_path.read_text())
    if record["task"] != task:
        raise SystemExit(f"--pseudo {pseudo} holds {record['task']} labels, not {task}")
    saved = np.load(pseudo)
    rows, answer = saved["rows"], saved["answer"]
    faces = framed_dataset(load_rafdb(Path(rafdb) if rafdb is not None else DEFAULT_RAFDB, cache_dir=cache_dir),
                           framing, side, color, cache_dir).splits["train"]
    extra = {key: value[rows] for key, value in faces.extra.items()}
    if task == "age":
        from training.data.age import bin_index
        labels, extra["age"] = bin_index(answer), answer.astype(np.float64)
    else:
        labels = answer.astype(np.int64)
    existing = next(iter(dataset.splits.values())).extra
    if "gender" in existing:  # the age task keeps UTKFace's gender: unknown (-1) for RAF-DB's faces
        extra["gender"] = np.full(len(rows), -1, np.int64)
    pseudo_split = Split(faces.images[rows], labels, extra)
    empty = Split(pseudo_split.images[:0], labels[:0], {k: v[:0] for k, v in extra.items()})
    pseudo_set = Dataset("RAF-DB (pseudo-labelled)", dataset.labels,
                         {name: pseudo_split if name == "train" else empty for name in dataset.splits},
                         {"pseudo_labels": {k: v for k, v in record.items() if k != "fairface_validation_curve"},
                          "fairface_validation_curve": record["fairface_validation_curve"]})
    sets = dataset.info.get("source_set", [dataset.name])
    joined = join([dataset, pseudo_set], ["labelled", "RAF-DB pseudo"])
    for name, split in joined.splits.items():
        own = dataset.splits[name]
        # The labelled sets keep their codes (UTKFace 0, LFW 1), RAF-DB gets the next one.
        split.extra["source_set"][:len(own)] = own.extra.get("source_set", 0)
        split.extra["source_set"][len(own):] = len(sets)
        split.extra["pseudo_labelled"] = np.arange(len(split)) >= len(own)
    joined.info = {**dataset.info, "sets": {**dataset.info.get("sets", {sets[0]: dataset.info}),
                                            "RAF-DB pseudo": pseudo_set.info},
                   "source_set": [*sets, "RAF-DB pseudo"]}
    joined.name = f"{dataset.name} + RAF-DB (pseudo-labelled {task})"
    return joined


def _as_age(dataset: Dataset) -> Dataset:
    """Load UTKFace with the age bin (training.data.age) as label; the gender stays in ``extra``."""
    from training.data.age import AGE_BIN_EDGES, bin_index, bin_labels

    splits = {name: Split(split.images, bin_index(split.extra["age"]), {**split.extra, "gender": split.labels})
              for name, split in dataset.splits.items()}
    info = {**dataset.info, "age_bin_edges": list(AGE_BIN_EDGES)}
    return Dataset(dataset.name, bin_labels(), splits, info)
