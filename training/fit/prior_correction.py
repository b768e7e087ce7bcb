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
Prior correction: the class conv's bias minus tau * log(training prior), and how tau is chosen.

Emotion: the mean of FER+ majority accuracy and the six emotions' mean recall on validation;
age: FairFace validation's figures against the squeeze toward the middle ages.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


TAUS = (0.0, 0.25, 0.5, 0.75, 1.0)


CRITERION = "mean of FER+ majority accuracy and the six emotions' mean class recall (validation)"


# With several emotion sets joined: every class of every set counts (fear and disgust included).
UNION_CRITERION = "mean of the union's accuracy and its mean class recall over the seven classes (validation)"


def adjusted_probabilities(probs: np.ndarray, prior: np.ndarray, tau: float) -> np.ndarray:
    """Return probs / prior^tau, renormalised per row (what the adjusted model outputs)."""
    scaled = probs / np.power(prior, tau)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fold_into_model(model, prior: np.ndarray, tau: float) -> None:
    """Subtract tau * log(prior) from the bias of the model's ``class_conv`` layer, in place."""
    layer = model.get_layer("class_conv")
    kernel, bias = layer.get_weights()
    if bias.shape != prior.shape:
        raise ValueError(f"class_conv has {bias.shape[0]} classes, the prior {prior.shape[0]}")
    layer.set_weights([kernel, (bias - tau * np.log(prior)).astype(bias.dtype)])


def learnt_prior(model, train_images: np.ndarray) -> np.ndarray:
    """
    Return the class frequencies the model has learnt: its mean probabilities over the training faces.

    Read from the model rather than the labels because a distilled student learns blended
    targets (labels and teachers), whose prior is neither the labels' nor a teacher's.
    """
    from training.data.preprocess import normalize

    prior = model.predict(normalize(train_images), batch_size=256, verbose=0).mean(axis=0).astype(np.float64)
    return np.maximum(prior, 1e-4) / np.maximum(prior, 1e-4).sum()


def choose_tau(probs: np.ndarray, views: dict, prior: np.ndarray,
               taus: Sequence[float] = TAUS) -> tuple[float, list[dict[str, float]]]:
    """Score each tau on validation probabilities; the best by CRITERION (ties: smaller tau)."""
    from training.data.label_views import POSED_VIEW, select, UNION_VIEW
    from training.evaluation.metrics import classification_report

    primary = next(iter(views))
    if POSED_VIEW not in views:
        raise SystemExit("logit adjustment is for emotion with FER+ votes (needs the posed-set view)")
    joined = primary == UNION_VIEW
    num_classes = probs.shape[1]
    rows = []
    for tau in taus:
        adjusted = adjusted_probabilities(probs, prior, tau)
        scores = {}
        for name in (primary, POSED_VIEW):
            y, p = select(views[name], adjusted)
            scores[name] = classification_report(y, p.argmax(1), [str(c) for c in range(num_classes)])
        accuracy, posed_recall = scores[primary]["accuracy"], scores[POSED_VIEW]["mean_recall"]
        class_recall = scores[primary]["mean_recall"]
        rows.append({"tau": float(tau), "accuracy": accuracy, "posed_mean_recall": posed_recall,
                     "mean_class_recall": class_recall,
                     "score": 0.5 * (accuracy + (class_recall if joined else posed_recall))})
    best = max(rows, key=lambda r: (round(r["score"], 6), -r["tau"]))
    return best["tau"], rows


AGE_TAUS = tuple(round(0.1 * i, 1) for i in range(11))


AGE_MAE_SLACK = 0.3


AGE_CRITERION = ("mean of FairFace validation's age in years in the right group, its children under 10 read "
                 "under 13 and its 60+ read 55 or more (the node's framing, crops); a tau whose UTKFace validation "
                 f"MAE is more than {AGE_MAE_SLACK:g} years above tau 0's is not taken")


def choose_age_tau(fairface_probs: np.ndarray, fairface_groups: np.ndarray, utk_probs: np.ndarray,
                   utk_ages: np.ndarray, prior: np.ndarray, centers: Sequence[float],
                   taus: Sequence[float] = AGE_TAUS) -> tuple[float, list[dict[str, float]]]:
    """Score each tau by AGE_CRITERION; the best (ties: smaller tau)."""
    from training.data.age import expected_age
    from training.data.loaders.fairface import age_group_of

    children, seniors = fairface_groups <= 1, fairface_groups >= 7  # FairFace's 0-2 and 3-9; 60-69 and 70+
    rows = []
    for tau in taus:
        years = expected_age(adjusted_probabilities(fairface_probs, prior, tau), centers)
        mae = float(np.abs(expected_age(adjusted_probabilities(utk_probs, prior, tau), centers) - utk_ages).mean())
        hit = float((age_group_of(years) == fairface_groups).mean())
        child, senior = float((years[children] < 13).mean()), float((years[seniors] >= 55).mean())
        rows.append({"tau": float(tau), "fairface_years_in_group": hit, "fairface_under_10_read_under_13": child,
                     "fairface_60_plus_read_55_plus": senior, "utkface_mae_years": mae,
                     "score": (hit + child + senior) / 3.0})
    allowed = [r for r in rows if r["utkface_mae_years"] <= rows[0]["utkface_mae_years"] + AGE_MAE_SLACK]
    best = max(allowed, key=lambda r: (round(r["score"], 6), -r["tau"]))
    return best["tau"], rows


def _age_tau(model, dataset, prior: np.ndarray, run: dict, taus: Sequence[float]) -> tuple[float, list[dict]]:
    """Read FairFace validation (the run's framing) and UTKFace validation; choose tau for age."""
    from training.data.framed import framed_dataset
    from training.data.loaders.fairface import load_fairface
    from training.data.preprocess import normalize

    side = int(model.input_shape[1])
    fairface = framed_dataset(load_fairface(), run["input"]["framing"], side, "gray").splits["validation"]
    fairface_probs = model.predict(normalize(fairface.images), batch_size=256, verbose=0)
    validation = dataset.splits["validation"]
    utk_probs = model.predict(normalize(validation.images), batch_size=256, verbose=0)
    tau, rows = choose_age_tau(fairface_probs, fairface.extra["age_group"], utk_probs, validation.extra["age"],
                               prior, run["age_bins"]["centers_years"], taus)
    for row in rows:
        mark = "  <- chosen" if row["tau"] == tau else ""
        print(f"tau {row['tau']:.2f}: FairFace age in years in the right group "
              f"{100 * row['fairface_years_in_group']:.1f}%, under 10 read <13 "
              f"{100 * row['fairface_under_10_read_under_13']:.1f}%, 60+ read >=55 "
              f"{100 * row['fairface_60_plus_read_55_plus']:.1f}%, UTKFace MAE {row['utkface_mae_years']:.2f}{mark}")
    return tau, rows


def _emotion_tau(model, dataset, prior: np.ndarray, run: dict, taus: Sequence[float]) -> tuple[float, list[dict]]:
    """Choose tau for emotion on its validation split (CRITERION, or UNION_CRITERION with several sets)."""
    from training.data.label_views import label_views
    from training.data.preprocess import normalize

    validation = dataset.splits["validation"]
    probs = model.predict(normalize(validation.images), batch_size=256, verbose=0)
    tau, rows = choose_tau(probs, label_views("emotion", validation, dataset.labels), prior, taus)
    for row in rows:
        mark = "  <- chosen" if row["tau"] == tau else ""
        print(f"tau {row['tau']:.2f}: accuracy {100 * row['accuracy']:.2f}%, mean class recall "
              f"{100 * row['mean_class_recall']:.2f}%, six emotions' mean recall (FER+) "
              f"{100 * row['posed_mean_recall']:.2f}%, score {100 * row['score']:.2f}{mark}")
    return tau, rows


# Per task: how tau is chosen, what the record says about it, the taus scored by default.
TAU_CHOICE = {"emotion": (_emotion_tau, None, TAUS), "age": (_age_tau, AGE_CRITERION, AGE_TAUS)}
