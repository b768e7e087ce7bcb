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

"""
Gender and age pseudo-labels for RAF-DB's unlabelled faces, kept where the teacher is sure.

RAF-DB's faces (people of every age and origin, in the wild) carry no gender or age. A teacher
(the shipped model, or any .keras model reading the same faces) reads every face of RAF-DB's
training split, cut by the node's framing at the teacher's input, averaged over the face and its
mirror. A face is kept when the teacher's confidence reaches a threshold, and the threshold is
chosen on FairFace's **validation** half, read the same way: the lowest threshold on a grid at
which the teacher's kept FairFace faces are right at least ``--precision`` of the time
(gender: the gender; age: FairFace's age group of the expected age).

Confidence is what the node reports: the larger gender probability; for age the mass of the most
likely of FairFace's nine age groups (each bin's mass spread over the years it covers).

Writes ``build/pseudo/rafdb_<task>.npz`` (RAF-DB train row, gender label or expected age, the
teacher's probabilities, the threshold) and a JSON record beside it that training puts in the card.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any, Protocol, Sequence

import numpy as np

from training.paths import REPO_ROOT

PSEUDO_DIR = REPO_ROOT / "build" / "pseudo"
THRESHOLD_GRID = tuple(round(0.5 + 0.025 * i, 3) for i in range(20))  # 0.5 .. 0.975
DEFAULT_PRECISION = {"gender": 0.93, "age": 0.5}
DESCRIPTOR_SEED = 0
# The descriptor head's settings per task, chosen on FairFace validation (training/README.md):
# gender fits the raw descriptors best, age's 21 bins need z-scored ones to be learnt in time.
DESCRIPTOR_HEAD = {"gender": {"l2": 1e-4, "learning_rate": 0.5, "standardize": False},
                   "age": {"l2": 1e-3, "learning_rate": 0.2, "standardize": True}}
RAFDB_SUBSET_SEED = 26


def confidence_and_answer(task: str, probabilities: np.ndarray, card: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return (confidence, answer) per face: gender (label index) or age (expected years)."""
    if task == "gender":
        return probabilities.max(axis=1), probabilities.argmax(axis=1)
    from face_perception.attributes.age_groups import AGE_GROUPS, overlap_matrix
    from training.data.age import expected_age

    groups = probabilities @ overlap_matrix(card["age_bins"]["edges_years"], [(lo, hi) for _, lo, hi in AGE_GROUPS])
    return groups.max(axis=1), expected_age(probabilities, card["age_bins"]["centers_years"])


def correct(task: str, answer: np.ndarray, split) -> np.ndarray:
    """Return whether each teacher answer on FairFace is right (gender; age group of the expected age)."""
    if task == "gender":
        return answer == split.labels
    from training.data.loaders.fairface import age_group_of

    return age_group_of(answer) == split.extra["age_group"]


def choose_threshold(confidence: np.ndarray, right: np.ndarray, precision: float,
                     grid: Sequence[float] = THRESHOLD_GRID, min_kept: int = 20) -> tuple[float, list[dict]]:
    """Return the lowest grid threshold whose kept faces are right >= ``precision``, and the whole curve."""
    curve = []
    for t in grid:
        kept = confidence >= t
        curve.append({"threshold": t, "kept": float(kept.mean()), "faces": int(kept.sum()),
                      "precision": float(right[kept].mean()) if kept.any() else None})
    for point in curve:
        if point["faces"] >= min_kept and point["precision"] is not None and point["precision"] >= precision:
            return point["threshold"], curve
    raise SystemExit(f"no threshold in {grid[0]}..{grid[-1]} keeps {min_kept}+ FairFace validation faces "
                     f"right {precision:.0%} of the time; lower --precision")


class Teacher(Protocol):
    """Reads a framed split (``extra['source']`` and ``extra['keypoints']``) as class probabilities [N, classes]."""

    description: str

    def read(self, split) -> np.ndarray:
        ...


class ModelTeacher:
    """A .keras model of the task, flip-averaged, on faces cut by the card's framing at its input side."""

    def __init__(self, path: Path, framing_entry: dict[str, Any], side: int) -> None:
        import keras

        from face_perception.attributes.framing import framing_from_card

        if not path.is_file():
            raise SystemExit(f"--teacher {path} not found")
        self.model = keras.models.load_model(path, compile=False)
        self.color = "rgb" if self.model.input_shape[-1] == 3 else "gray"
        self.framing, self.side = framing_from_card(framing_entry, 0.0, "pseudo-label framing"), side
        self.description = f"{path} (flip-averaged, the node's framing)"

    def read(self, split) -> np.ndarray:
        from training.fit.distill import teacher_probabilities
        from training.data.framed import cut_faces

        faces = cut_faces(split.extra["source"], split.extra["keypoints"], self.framing, self.side, self.color)
        return teacher_probabilities([self.model], faces)


class DescriptorTeacher:
    """A softmax head on dlib face descriptors (training.fit.descriptors), fitted on labelled training faces."""

    def __init__(self, labelled, classes: int, faces: int, cache_dir: Path | None, seed: int = DESCRIPTOR_SEED,
                 head: dict[str, Any] = DESCRIPTOR_HEAD["gender"]) -> None:
        from training.fit.descriptors import face_descriptors, SoftmaxHead

        self.cache_dir = cache_dir
        rows = np.sort(np.random.default_rng(seed).choice(len(labelled), min(faces, len(labelled)), replace=False))
        x = face_descriptors(labelled.extra["source"][rows], labelled.extra["keypoints"][rows], cache_dir)
        self.head = SoftmaxHead.fit(x, labelled.labels[rows], classes, **head)
        self.fit_accuracy = float((self.head.probabilities(x).argmax(axis=1) == labelled.labels[rows]).mean())
        self.description = (f"dlib descriptors + softmax head fitted on {len(rows)} labelled training faces "
                            f"(seed {seed}, {head}; training accuracy {self.fit_accuracy:.3f})")

    def read(self, split) -> np.ndarray:
        from training.fit.descriptors import face_descriptors

        return self.head.probabilities(face_descriptors(split.extra["source"], split.extra["keypoints"],
                                                        self.cache_dir))


def ensemble_read(teachers: Sequence[Teacher], split) -> np.ndarray:
    """Return the mean of the teachers' probabilities."""
    return np.mean([teacher.read(split) for teacher in teachers], axis=0).astype(np.float32)


def rafdb_subset(size: int, faces: int, seed: int = RAFDB_SUBSET_SEED) -> np.ndarray:
    """Return the RAF-DB training rows read: all, or a seeded subset of ``faces`` (descriptors are slow)."""
    if faces <= 0 or faces >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(seed).permutation(size)[:faces])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("gender", "age"), required=True)
    p.add_argument("--teacher", type=Path, action="append", default=None,
                   help="teacher .keras, repeatable (default: the shipped face_perception/models/<task>.keras); "
                        "its card or run.json gives the framing")
    p.add_argument("--descriptor-teacher", type=int, default=0, metavar="FACES",
                   help="also a softmax head on dlib descriptors fitted on this many labelled training faces "
                        "(the task's training split, the node's framing); the teachers' probabilities are averaged")
    p.add_argument("--rafdb-faces", type=int, default=0,
                   help="read a seeded subset of this many RAF-DB training faces (0 = all)")
    p.add_argument("--precision", type=float, default=None,
                   help="how often kept FairFace validation faces must be right (default: gender 0.93, age 0.5)")
    p.add_argument("--rafdb", type=Path, default=None)
    p.add_argument("--fairface", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="default build/pseudo/rafdb_<task>.npz")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the NumPy cache")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from training.data.framed import framed_dataset
    from training.data.loaders.fairface import load_fairface
    from training.data.loaders.rafdb import load_rafdb
    from training.data.dataset import Split
    from training.paths import CACHE_DIR, DEFAULT_FAIRFACE, DEFAULT_RAFDB

    paths = args.teacher or [REPO_ROOT / "face_perception" / "models" / f"{args.task}.keras"]
    card = _teacher_card(paths[0])
    framing_entry, side = card["input"]["framing"], int(card["input"]["height"])
    precision = args.precision if args.precision is not None else DEFAULT_PRECISION[args.task]
    cache_dir = None if args.no_cache else CACHE_DIR
    teachers: list[Teacher] = [ModelTeacher(path, framing_entry, side) for path in paths]
    if args.descriptor_teacher:
        from training.data.tasks import load_task_data

        labelled = load_task_data(args.task, framing=framing_entry, cache_dir=cache_dir).splits["train"]
        teachers.append(DescriptorTeacher(labelled, len(card["labels"]), args.descriptor_teacher, cache_dir,
                                          head=DESCRIPTOR_HEAD[args.task]))

    fairface = framed_dataset(load_fairface(args.fairface or DEFAULT_FAIRFACE, cache_dir=cache_dir), framing_entry,
                              side, "gray", cache_dir)
    validation = fairface.splits["validation"]
    confidence, answer = confidence_and_answer(args.task, ensemble_read(teachers, validation), card)
    right = correct(args.task, answer, validation)
    threshold, curve = choose_threshold(confidence, right, precision)

    rafdb = framed_dataset(load_rafdb(args.rafdb or DEFAULT_RAFDB, cache_dir=cache_dir), framing_entry, side, "gray",
                           cache_dir)
    train = rafdb.splits["train"]
    read_rows = rafdb_subset(len(train), args.rafdb_faces)
    subset = Split(train.images[read_rows], train.labels[read_rows],
                   {key: train.extra[key][read_rows] for key in ("source", "keypoints")})
    probabilities = ensemble_read(teachers, subset)
    confidence, answer = confidence_and_answer(args.task, probabilities, card)
    chosen = np.flatnonzero(confidence >= threshold)
    kept = read_rows[chosen]
    answer, probabilities, confidence = answer[chosen], probabilities[chosen], confidence[chosen]
    out = args.out or PSEUDO_DIR / f"rafdb_{args.task}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, rows=kept, answer=answer, probabilities=probabilities, confidence=confidence,
                        threshold=np.float64(threshold))
    record = {
        "task": args.task, "teachers": [teacher.description for teacher in teachers],
        "teacher_reading": "the mean of the teachers' probabilities",
        "fairface_validation_accuracy": float(right.mean()),
        "rafdb_split": "train", "rafdb_faces": int(len(read_rows)), "kept": int(len(kept)), "threshold": threshold,
        "threshold_rule": f"lowest of {THRESHOLD_GRID[0]}..{THRESHOLD_GRID[-1]} at which the teacher's kept FairFace "
                          f"validation faces are right >= {precision:g}",
        "fairface_validation_curve": curve,
        "command": "python -m training.fit.pseudo_labels " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if args.task == "gender":
        record["kept_labels"] = {name: int((answer == i).sum()) for i, name in enumerate(card["labels"])}
    else:
        from training.data.loaders.fairface import age_group_of, AGE_GROUPS as FAIRFACE_GROUPS

        record["kept_groups"] = dict(zip(FAIRFACE_GROUPS, np.bincount(age_group_of(answer),
                                                                      minlength=len(FAIRFACE_GROUPS)).tolist()))
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{args.task}: teachers {float(right.mean()):.3f} right on FairFace validation; threshold {threshold} "
          f"(precision >= {precision:g}); kept {len(kept)} of {len(read_rows)} RAF-DB faces -> {out}")
    return 0


def _teacher_card(path: Path) -> dict[str, Any]:
    """Return the card beside a shipped model, or the run.json of a training run's folder."""
    from training.evaluation.compare import model_record

    record = model_record(path)
    if record is None:
        raise SystemExit(f"--teacher {path}: no {path.with_suffix('.card.json').name} or run.json beside it")
    return record


if __name__ == "__main__":
    sys.exit(main())
