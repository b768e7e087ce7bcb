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
Age evaluation.

Age evaluation: mean absolute error in years, by age band, band accuracy and confusion,
against the constant baselines (the training set's mean and median age).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from training.data.age import AGE_BANDS, band_index, expected_age
from training.evaluation.metrics import classification_report

BAND_NAMES = [name for name, _, _ in AGE_BANDS]


def age_metrics(predicted_years: np.ndarray, true_years: np.ndarray) -> dict[str, Any]:
    """MAE overall and per true band, band accuracy (band of the estimate vs the true band)."""
    predicted_years = np.asarray(predicted_years, dtype=np.float64)
    true_years = np.asarray(true_years, dtype=np.float64)
    error = np.abs(predicted_years - true_years)
    true_band, predicted_band = band_index(true_years), band_index(np.maximum(predicted_years, 0.0))
    bands = classification_report(true_band, predicted_band, BAND_NAMES)
    return {
        "samples": int(len(true_years)),
        "mae_years": float(error.mean()),
        "median_absolute_error_years": float(np.median(error)),
        "within_5_years": float((error <= 5.0).mean()),
        "mae_by_band": {name: (float(error[true_band == b].mean()) if (true_band == b).any() else None)
                        for b, name in enumerate(BAND_NAMES)},
        "band_accuracy": bands["accuracy"],
        "band_macro_f1": bands["macro_f1"],
        "band_per_class": bands["per_class"],
        "band_confusion_matrix": bands["confusion_matrix"],
    }


def age_report(probs: np.ndarray, probs_tta: np.ndarray, centers: Sequence[float], true_years: np.ndarray,
               train_years: np.ndarray) -> dict[str, Any]:
    """Ours (with and without flip TTA) and the constant baselines, on the same faces."""
    return {
        "ours": age_metrics(expected_age(probs, centers), true_years),
        "ours_flip_tta": age_metrics(expected_age(probs_tta, centers), true_years),
        "baseline_mean_age": age_metrics(np.full(len(true_years), float(np.mean(train_years))), true_years),
        "baseline_median_age": age_metrics(np.full(len(true_years), float(np.median(train_years))), true_years),
        "train_mean_age": float(np.mean(train_years)),
        "train_median_age": float(np.median(train_years)),
    }


def age_markdown(report: dict[str, Any]) -> str:
    """Return the age section of docs/evaluation/age.md."""
    rows = [("ours", "ours"), ("ours, flip TTA", "ours_flip_tta"),
            (f"baseline: training mean age ({report['train_mean_age']:.1f})", "baseline_mean_age"),
            (f"baseline: training median age ({report['train_median_age']:.0f})", "baseline_median_age")]
    lines = ["| model | MAE (years) | median abs. error | within 5 years | band accuracy | band macro F1 |",
             "|---|---|---|---|---|---|"]
    for title, key in rows:
        m = report[key]
        lines.append(f"| {title} | {m['mae_years']:.2f} | {m['median_absolute_error_years']:.2f} | "
                     f"{100 * m['within_5_years']:.1f}% | {100 * m['band_accuracy']:.1f}% | {m['band_macro_f1']:.3f} |")
    ours = report["ours"]
    lines += ["", "MAE by true age band (ours, no TTA):", "", "| band | faces | MAE (years) | band recall |",
              "|---|---|---|---|"]
    for name in BAND_NAMES:
        mae = ours["mae_by_band"][name]
        lines.append(f"| {name} | {ours['band_per_class'][name]['support']} | "
                     f"{'—' if mae is None else f'{mae:.2f}'} | {ours['band_per_class'][name]['recall']:.3f} |")
    lines += ["", "Band confusion (rows: true band, columns: band of the estimate; ours, no TTA):", "",
              "| true \\ predicted | " + " | ".join(BAND_NAMES) + " |", "|---" * (len(BAND_NAMES) + 1) + "|"]
    for name, row in zip(BAND_NAMES, ours["band_confusion_matrix"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
