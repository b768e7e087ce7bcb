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
Fit the age model's child calibration (card key ``child_calibration``) on validation faces.

The node's ``FaceAttributes.child_probability`` is ``sigmoid(a * logit(p) + b)``, p the age
model's mass under 13 years (face_perception.classification.age_groups). This fits a and b by
maximum likelihood (Platt scaling) on validation data only, cut the node's way (re-detected by
BlazeFace, cut by the card's ``input.framing``):

- UTKFace's validation split (training.data.tasks, seed 1337): a child is an age under 13;
- FairFace's validation half (training.data.loaders.fairface, seed 2026): groups 0-2 and 3-9 are
  children, 20-29 and older are not; 10-19 is left out (10-12 are children, 13-19 not).

    python -m training.fit.child_calibration                      # fit and print, shipped model
    python -m training.fit.child_calibration --write-card         # ... and store a, b in its card
    python -m training.fit.child_calibration --model build/runs/age/model.keras

Re-run it (``--write-card``) whenever the age model changes: ``make train`` does, after the
age export. The test figures come from training.evaluation.fairface_report and training.evaluation.end_to_end.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
from typing import Any, Sequence

import numpy as np

from training.fit.child_probability import (age_probabilities, fit_platt, log_loss, logit, precision_recall,
                                            validation_faces)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None,
                   help="age model, .tflite or .keras, its card beside it (default: the shipped models/age.tflite)")
    p.add_argument("--write-card", action="store_true", help="store a and b in the model's card (child_calibration)")
    p.add_argument("--json", type=Path, default=None, help="also write the fit's figures here")
    args = p.parse_args(argv)

    from face_perception.classification.age_groups import AgeGroupReader, ChildCalibration
    from face_perception.classification.classification import card_path_for, resolve_model_path
    from face_perception.classification.model_card import load_model_card, parse_model_card

    model_path = args.model or resolve_model_path("", "age")
    card_path = card_path_for(model_path)
    card = load_model_card(card_path)
    raw_reader = AgeGroupReader(card.age_bin_centers, card.age_bin_edges)  # a = 1, b = 0: the raw mass
    sets = validation_faces(card)
    raw, y, names = [], [], []
    for name, (faces, children) in sets.items():
        probabilities = age_probabilities(Path(model_path), faces)
        raw.append(np.array([raw_reader.raw_child_probability(row) for row in probabilities]))
        y.append(children)
        names += [name] * len(children)
    raw_all, y_all = np.concatenate(raw), np.concatenate(y)
    a, b = fit_platt(logit(raw_all), y_all)
    calibration = ChildCalibration(a, b)
    calibrated = [np.array([calibration.apply(float(v)) for v in r]) for r in raw]
    figures: dict[str, Any] = {}
    for name, r, c, t in zip(list(sets) + ["all"], raw + [raw_all], calibrated + [np.concatenate(calibrated)],
                             y + [y_all]):
        figures[name] = {"raw": {**precision_recall(r, t), "log_loss": log_loss(r, t)},
                         "calibrated": {**precision_recall(c, t), "log_loss": log_loss(c, t)}}
    command = "python -m training.fit.child_calibration " + " ".join(sys.argv[1:] if argv is None else argv)
    entry = {"a": round(a, 6), "b": round(b, 6),
             "fitted_on": "validation faces cut by input.framing: UTKFace validation split (child = age under 13, "
                          f"{len(sets['UTKFace validation'][1])} faces) + FairFace validation half without 10-19 "
                          f"(child = 0-2, 3-9; {len(sets['FairFace validation (no 10-19)'][1])} faces); "
                          "maximum-likelihood Platt scaling of logit(mass under 13 years)",
             "command": command.strip(),
             "validation_at_0.5": {name: {kind: {k: (round(v, 4) if isinstance(v, float) else v)
                                                 for k, v in values.items()} for kind, values in f.items()}
                                   for name, f in figures.items()}}
    print(f"a = {a:.4f}, b = {b:.4f}")
    for name, f in figures.items():
        for kind, values in f.items():
            shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in values.items()}
            print(f"{name:32s} {kind:10s} {shown}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(entry, indent=2) + "\n")
    if args.write_card:
        data = json.loads(card_path.read_text(encoding="utf-8"))
        data["child_calibration"] = entry
        parse_model_card(data, card_path)  # refuse to write a card the node would refuse
        card_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"written to {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
