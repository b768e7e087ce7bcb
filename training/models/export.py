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
Export a trained Keras model to LiteRT (.tflite) and write its model card.

    python -m training.models.export --task emotion     # build/runs/emotion -> face_perception/models/

Exports float32 and an int8-quantised (float input/output) variant, evaluates both on the test
split, times both on this CPU (interleaved, one face at a time) and ships the int8 one only when
it loses less than one accuracy point and is also faster: XNNPACK on x86 often runs these small
float32 models faster than their int8 twins, and the node's speed is what int8 is for.

    python -m training.models.export --task emotion --from-shipped   # re-export the shipped .keras
"""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
import json
from pathlib import Path
import shutil
import sys
from typing import Sequence

import numpy as np

from training.models.litert_export import (card_scorer, export_tflite, interleaved_latency_ms, run_from_shipped_card,
                                           write_model_card)
from training.paths import MODELS_DIR, RUNS_DIR, trained_run


def main(argv: Sequence[str] | None = None) -> int:
    import keras

    from training.evaluation.test_report import test_split_inputs
    from training.data.preprocess import model_color
    from training.data.tasks import load_task_data

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=("emotion", "gender", "age"), required=True)
    p.add_argument("--run", type=Path, default=None, help="training run folder (default build/runs/<task>)")
    p.add_argument("--data", type=Path, default=None, help="data set (default ../shared/data/...)")
    p.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    p.add_argument("--calibration", type=int, default=500, help="training images for int8 calibration")
    p.add_argument("--from-shipped", action="store_true",
                   help="re-export the shipped <models-dir>/<task>.keras with its card's training record "
                        "(same weights; e.g. after a change to the export rules) instead of a training run")
    args = p.parse_args(argv)

    if args.from_shipped:
        model_path = args.models_dir / f"{args.task}.keras"
        card_path = args.models_dir / f"{args.task}.card.json"
        for needed in (model_path, card_path):
            if not needed.is_file():
                raise SystemExit(f"{needed} not found: nothing shipped to re-export")
        run = run_from_shipped_card(json.loads(card_path.read_text()))
        run_dir = args.run or RUNS_DIR / f"{args.task}_reexport"
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        model_path, _, run = trained_run(args.run, args.task)
        run_dir = model_path.parent
    model = keras.models.load_model(model_path, compile=False)
    side = int(model.input_shape[1])
    # Colour from the model's input channels (test faces and int8 calibration alike).
    color = model_color(model)
    if run["input"].get("color", "gray") != color:
        raise SystemExit(f"{model_path} takes {color} faces but its run record says "
                         f"{run['input'].get('color', 'gray')}")
    framing = run["input"].get("framing")
    dataset = load_task_data(args.task, args.data, side=side, color=color, framing=framing)
    x_test, _ = test_split_inputs(dataset)
    calib = test_split_inputs(dataset, "train")[0]
    calib = calib[np.random.default_rng(0).permutation(len(calib))[: args.calibration]]

    float_path = export_tflite(model, run_dir / f"{args.task}.float32.tflite")
    int8_path = export_tflite(model, run_dir / f"{args.task}.int8.tflite", quantize=True,
                              representative_data=calib)
    score = card_scorer(args.task, dataset, run, x_test)
    results = {kind: score(path) for kind, path in (("float32", float_path), ("int8", int8_path))}
    loss = results["int8"]["_loss"] - results["float32"]["_loss"]
    latency = interleaved_latency_ms({"float32": float_path, "int8": int8_path}, x_test)
    chosen = "int8" if loss < results["float32"]["_tolerance"] and latency["int8"] < latency["float32"] else "float32"
    print(f"float32 {results['float32']['_headline']} ({latency['float32']:.3f} ms/face)  "
          f"int8 {results['int8']['_headline']} ({latency['int8']:.3f} ms/face) -> shipping {chosen}")

    args.models_dir.mkdir(parents=True, exist_ok=True)
    shipped = args.models_dir / f"{args.task}.tflite"
    shutil.copyfile(run_dir / f"{args.task}.{chosen}.tflite", shipped)
    model.save(args.models_dir / f"{args.task}.keras")  # loaded without optimizer state: small
    metrics = {k: v for k, v in results[chosen].items() if not k.startswith("_")}
    extra = {
        "model_file": shipped.name,
        "float_model_file": f"{args.task}.keras",
        "weights": chosen,
        "quantization": {"float32_test": results["float32"]["_headline"],
                         "int8_test": results["int8"]["_headline"],
                         "float32_ms_per_face": latency["float32"], "int8_ms_per_face": latency["int8"],
                         "latency_method": "LiteRT (XNNPACK, 1 thread), one face per call, median of "
                                           "interleaved calls on the exporting machine",
                         "rule": results["float32"]["_rule"], "shipped": chosen},
        "architecture": run["arch"],
        "dataset": run["dataset"],
        "split": {**dataset.info, "counts": dataset.counts(),
                  "train_class_counts": run.get("train_class_counts", dataset.class_counts("train"))},
        "training_targets": run.get("targets", "original"),
        "preprocessing": (("face cut by input.framing (face_perception.classification.framing) " if framing else "") +
                          ("face crop -> grey (OpenCV BGR2GRAY)" if color == "gray" else
                           "face crop -> R, G, B (the BGR frame's channels reversed)") + " -> resize to "
                          f"{side}x{side} (INTER_AREA when shrinking) -> pixel * scale + offset "
                          f"(= [-1, 1]); float32 NHWC [batch, H, W, {3 if color == 'rgb' else 1}]; "
                          "output softmax probabilities" +
                          (" over the age bins (labels); age in years = sum(p * age_bins.centers_years)"
                           if args.task == "age" else "")),
        "metrics": {"test": metrics, "split": "test"},
        "parameters": int(model.count_params()),
        "training_command": run["training_command"],
        "training_hyperparameters": run.get("hyperparameters", {}),
        "epochs_run": run.get("epochs_run"), "best_epoch": run.get("best_epoch"),
        "best_validation_accuracy": run.get("best_val_accuracy"),
        **({"best_validation_age_mae_years": run["best_val_age_mae"]} if run.get("best_val_age_mae") else {}),
        **({"age_bins": run["age_bins"]} if "age_bins" in run else {}),
        "git_commit": run["git_commit"],
        "trained_on": run["trained_on"],
        "training_minutes": run["training_minutes"],
        **({"continued_from": run["continued_from"]} if "continued_from" in run else {}),
        **({"teacher": run["teacher"]} if "teacher" in run else {}),
        **({"logit_adjustment": run["logit_adjustment"]} if "logit_adjustment" in run else {}),
        **({"weight_average": run["weight_average"]} if "weight_average" in run else {}),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if args.from_shipped:
        run["notes"] = [note for note in run.get("notes", []) if not note.startswith("Re-exported")] + [
            f"Re-exported from the shipped {args.task}.keras (same weights) with "
            f"`python -m training.models.export --task {args.task} --from-shipped` on {extra['created'][:10]}."]
    if "notes" in run:
        extra["notes"] = run["notes"]
    card = write_model_card(args.models_dir / f"{args.task}.card.json", task=args.task, labels=dataset.labels,
                            input_height=side, input_width=side, scale=run["input"]["normalization"]["scale"],
                            offset=run["input"]["normalization"]["offset"], extra=extra, color=color,
                            framing=framing)
    print(f"wrote {shipped} and {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
