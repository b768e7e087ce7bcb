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

"""LiteRT export: a Keras model to .tflite (float32 or int8), their latency, the model card."""
from __future__ import annotations

import json
from pathlib import Path
import time
from typing import Any, Iterable, Sequence

import numpy as np


def export_tflite(model, path: Path | str, quantize: bool = False,
                  representative_data: Iterable[np.ndarray] | np.ndarray | None = None) -> Path:
    """
    Convert ``model`` to a .tflite file with a dynamic batch dimension.

    Input stays float32 [batch, H, W, C] and output float32 probabilities, also when
    ``quantize`` is set (int8 weights and activations inside, calibrated on
    ``representative_data``: model-ready float32 images).
    """
    import tensorflow as tf

    path = Path(path)
    if quantize and representative_data is None:
        raise ValueError("export_tflite: quantize=True needs representative_data (model-ready images)")
    shape = [None, *model.input_shape[1:]]

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name="image")])
    def serve(image):
        return model(image, training=False)

    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    # Freeze the weights into constants: the int8 calibrator cannot read resource variables.
    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    if quantize:
        samples = np.asarray(representative_data, dtype=np.float32)

        def representative():
            for sample in samples:
                yield [sample[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converter.convert())
    return path


def interleaved_latency_ms(paths: dict[str, Path], x: np.ndarray, repeats: int = 400) -> dict[str, float]:
    """Median ms per single face for each model, calls alternating so machine load hits all alike."""
    from training.models.litert import LiteRTClassifier

    models = {name: LiteRTClassifier(path) for name, path in paths.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    for i in range(repeats):
        sample = x[i % len(x)][None]
        for name, model in models.items():
            start = time.perf_counter()
            model(sample)
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: float(np.median(values[20:])) for name, values in times.items()}


def run_from_shipped_card(card: dict[str, Any]) -> dict[str, Any]:
    """Return the run record of the shipped model, rebuilt from its card (to re-export the same weights)."""
    return {
        "arch": card["architecture"], "dataset": card["dataset"],
        "input": {"normalization": card["input"]["normalization"], "color": card["input"].get("color", "gray")},
        "training_command": card["training_command"],
        "hyperparameters": card.get("training_hyperparameters", {}),
        "epochs_run": card.get("epochs_run"), "best_epoch": card.get("best_epoch"),
        "best_val_accuracy": card.get("best_validation_accuracy"),
        "best_val_age_mae": card.get("best_validation_age_mae_years"),
        "git_commit": card["git_commit"], "trained_on": card["trained_on"],
        "training_minutes": card["training_minutes"], "notes": card.get("notes", []),
        "targets": card.get("training_targets", "original"),
        **({"age_bins": card["age_bins"]} if "age_bins" in card else {}),
        **({"continued_from": card["continued_from"]} if "continued_from" in card else {}),
        **({"teacher": card["teacher"]} if "teacher" in card else {}),
        **({"logit_adjustment": card["logit_adjustment"]} if "logit_adjustment" in card else {}),
        **({"weight_average": card["weight_average"]} if "weight_average" in card else {}),
    }


def write_model_card(path: Path | str, *, task: str, labels: Sequence[str], input_height: int,
                     input_width: int, scale: float, offset: float, extra: dict[str, Any],
                     color: str = "gray", framing: dict[str, Any] | None = None) -> Path:
    """
    Write ``<task>.card.json``; validated with face_perception.classification.model_card before it is written.

    ``color``: "gray" (one input channel) or "rgb" (three, in the order R, G, B); ``framing``:
    the face framing the model was trained on (face_perception.classification.framing), None = the box crop.
    """
    from face_perception.classification.model_card import parse_model_card

    card: dict[str, Any] = {
        "schema_version": 1,
        "task": task,
        "labels": list(labels),
        "input": {"height": int(input_height), "width": int(input_width), "color": color,
                  "normalization": {"scale": float(scale), "offset": float(offset)},
                  **({"framing": dict(framing)} if framing is not None else {})},
    }
    clash = set(extra) & set(card)
    if clash:
        raise ValueError(f"write_model_card: extra must not override {sorted(clash)}")
    card.update(extra)
    path = Path(path)
    parse_model_card(card, path)  # raises ModelCardError naming the key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path


def card_scorer(task: str, dataset, run: dict[str, Any], x_test: np.ndarray):
    """
    Return a function .tflite path -> test metrics for the card.

    Return a function .tflite path -> test metrics for the card, plus ``_loss`` (lower is better),
    ``_tolerance`` (how much more loss int8 may have) and a ``_headline`` for the log.
    """
    from training.evaluation.test_report import evaluate_tflite
    from training.data.label_views import label_views, select

    test = dataset.splits["test"]
    if task == "age":
        from training.data.age import expected_age
        from training.evaluation.age_report import age_metrics
        from training.models.litert import LiteRTClassifier

        centers = run["age_bins"]["centers_years"]

        def score_age(path: Path) -> dict[str, Any]:
            model = LiteRTClassifier(path)
            plain = age_metrics(expected_age(model.predict(x_test), centers), test.extra["age"])
            tta = age_metrics(expected_age(0.5 * (model.predict(x_test) + model.predict(x_test[:, :, ::-1])), centers),
                              test.extra["age"])
            return {**plain, "flip_tta_mae_years": tta["mae_years"], "_loss": plain["mae_years"], "_tolerance": 0.25,
                    "_headline": f"MAE {plain['mae_years']:.3f} years",
                    "_rule": "ship int8 only if its MAE is < 0.25 years worse and it is faster"}
        return score_age

    views = label_views(task, test, dataset.labels)

    def score_classes(path: Path) -> dict[str, Any]:
        by_view = {}
        for name, view in views.items():
            y_view, x_view = select(view, x_test)
            by_view[name] = evaluate_tflite(path, x_view, y_view, dataset.labels)
        primary_name, primary = next(iter(by_view.items()))
        metrics = dict(primary)
        metrics["labels_used"] = primary_name
        metrics["by_labels"] = {name: {k: r[k] for k in ("accuracy", "mean_recall", "macro_f1", "flip_tta_accuracy",
                                                         "samples", "per_class_recall")}
                                for name, r in by_view.items()}
        return {**metrics, "_loss": -primary["accuracy"], "_tolerance": 0.01,
                "_headline": f"accuracy {primary['accuracy']:.4f} ({primary_name})",
                "_rule": "ship int8 only if it loses < 1 accuracy point and is faster"}
    return score_classes
