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
from typing import Any, Sequence

import numpy as np

from training.paths import REPO_ROOT

PSEUDO_DIR = REPO_ROOT / "build" / "pseudo"
THRESHOLD_GRID = tuple(round(0.5 + 0.025 * i, 3) for i in range(20))  # 0.5 .. 0.975
DEFAULT_PRECISION = {"gender": 0.93, "age": 0.5}
# FairFace's nine age groups by first year (the last is open-ended).
GROUP_STARTS = (0, 3, 10, 20, 30, 40, 50, 60, 70)


def group_of_years(years: np.ndarray) -> np.ndarray:
    """FairFace age-group index of ages in years."""
    return np.searchsorted(np.asarray(GROUP_STARTS[1:], np.float64), np.asarray(years, np.float64), side="right")


def bin_group_weights(edges: Sequence[float]) -> np.ndarray:
    """[bins, 9]: the share of each age bin's years in each FairFace group (a bin's mass spread evenly)."""
    bounds = list(GROUP_STARTS) + [np.inf]
    weights = np.zeros((len(edges) - 1, len(GROUP_STARTS)))
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        for g in range(len(GROUP_STARTS)):
            weights[b, g] = max(0.0, min(hi, bounds[g + 1]) - max(lo, bounds[g]))
        weights[b] /= hi - lo
    return weights


def confidence_and_answer(task: str, probabilities: np.ndarray, card: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, answer) per face: gender (label index) or age (expected years)."""
    if task == "gender":
        return probabilities.max(axis=1), probabilities.argmax(axis=1)
    centers = np.asarray(card["age_bins"]["centers_years"], np.float64)
    groups = probabilities @ bin_group_weights(card["age_bins"]["edges_years"])
    years = (probabilities @ centers) / probabilities.sum(axis=1)
    return groups.max(axis=1), years


def correct(task: str, answer: np.ndarray, split) -> np.ndarray:
    """Whether each teacher answer on FairFace is right (gender; age group of the expected age)."""
    if task == "gender":
        return answer == split.labels
    return group_of_years(answer) == split.extra["age_group"]


def choose_threshold(confidence: np.ndarray, right: np.ndarray, precision: float,
                     grid: Sequence[float] = THRESHOLD_GRID, min_kept: int = 20) -> tuple[float, list[dict]]:
    """The lowest grid threshold whose kept faces are right >= ``precision`` (and the whole curve)."""
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


def teacher_readings(model_path: Path, split, framing_entry: dict[str, Any], side: int) -> np.ndarray:
    """The teacher's flip-averaged probabilities for a framed split's sources, cut at its input side."""
    import keras

    from face_perception.attributes.framing import framing_from_card
    from training.distill import teacher_probabilities
    from training.framed import cut_faces

    teacher = keras.models.load_model(model_path, compile=False)
    color = "rgb" if teacher.input_shape[-1] == 3 else "gray"
    framing = framing_from_card(framing_entry, 0.0, "pseudo-label framing")
    faces = cut_faces(split.extra["source"], split.extra["keypoints"], framing, side, color)
    return teacher_probabilities([teacher], faces)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("gender", "age"), required=True)
    p.add_argument("--teacher", type=Path, default=None,
                   help="teacher .keras (default: the shipped face_perception/models/<task>.keras)")
    p.add_argument("--precision", type=float, default=None,
                   help="how often kept FairFace validation faces must be right (default: gender 0.93, age 0.5)")
    p.add_argument("--rafdb", type=Path, default=None)
    p.add_argument("--fairface", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="default build/pseudo/rafdb_<task>.npz")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the NumPy cache")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from training.framed import framed_dataset
    from training.loaders.fairface import load_fairface
    from training.loaders.rafdb import load_rafdb
    from training.paths import CACHE_DIR, DEFAULT_FAIRFACE, DEFAULT_RAFDB

    teacher = args.teacher or REPO_ROOT / "face_perception" / "models" / f"{args.task}.keras"
    card_path = teacher.with_suffix(".card.json")
    if not card_path.is_file():
        card_path = teacher.parent / "run.json"  # a training run's folder
    if not card_path.is_file():
        raise SystemExit(f"--teacher {teacher}: no {teacher.with_suffix('.card.json').name} or run.json beside it")
    card = json.loads(card_path.read_text())
    framing_entry, side = card["input"]["framing"], int(card["input"]["height"])
    precision = args.precision if args.precision is not None else DEFAULT_PRECISION[args.task]

    cache_dir = None if args.no_cache else CACHE_DIR
    fairface = framed_dataset(load_fairface(args.fairface or DEFAULT_FAIRFACE, cache_dir=cache_dir), framing_entry,
                              side, "gray", cache_dir)
    validation = fairface.splits["validation"]
    confidence, answer = confidence_and_answer(args.task, teacher_readings(teacher, validation, framing_entry, side),
                                               card)
    threshold, curve = choose_threshold(confidence, correct(args.task, answer, validation), precision)

    rafdb = framed_dataset(load_rafdb(args.rafdb or DEFAULT_RAFDB, cache_dir=cache_dir), framing_entry, side, "gray",
                           cache_dir)
    train = rafdb.splits["train"]
    probabilities = teacher_readings(teacher, train, framing_entry, side)
    confidence, answer = confidence_and_answer(args.task, probabilities, card)
    kept = np.flatnonzero(confidence >= threshold)
    out = args.out or PSEUDO_DIR / f"rafdb_{args.task}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, rows=kept, answer=answer[kept], probabilities=probabilities[kept],
                        confidence=confidence[kept], threshold=np.float64(threshold))
    record = {
        "task": args.task, "teacher": str(teacher), "teacher_reading": "flip-averaged, the node's framing",
        "rafdb_split": "train", "rafdb_faces": int(len(train)), "kept": int(len(kept)), "threshold": threshold,
        "threshold_rule": f"lowest of {THRESHOLD_GRID[0]}..{THRESHOLD_GRID[-1]} at which the teacher's kept FairFace "
                          f"validation faces are right >= {precision:g}",
        "fairface_validation_curve": curve,
        "command": "python -m training.pseudo_labels " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if args.task == "gender":
        record["kept_labels"] = {name: int((answer[kept] == i).sum()) for i, name in enumerate(card["labels"])}
    else:
        record["kept_groups"] = np.bincount(group_of_years(answer[kept]), minlength=len(GROUP_STARTS)).tolist()
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{args.task}: threshold {threshold} (FairFace validation precision >= {precision:g}); kept "
          f"{len(kept)} of {len(train)} RAF-DB faces -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
