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
from typing import Sequence

import numpy as np

from training.fit.pseudo_label_teachers import (choose_threshold, confidence_and_answer, correct, DEFAULT_PRECISION,
                                                DESCRIPTOR_HEAD, DescriptorTeacher, ensemble_read, ModelTeacher,
                                                PSEUDO_DIR, rafdb_subset, Teacher, teacher_card, THRESHOLD_GRID)
from training.paths import REPO_ROOT


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
    card = teacher_card(paths[0])
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


if __name__ == "__main__":
    sys.exit(main())
