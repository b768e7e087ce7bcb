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
The test-split report of a shipped model, side by side with the paper's published model.

Accuracy, per-class precision/recall/F1, macro F1, with and without horizontal-flip test-time
augmentation; adults (18+) separately for gender; LiteRT accuracy and latency per face; confusion
PNGs and a guided-backprop example; the age report (MAE in years by band, against constant baselines).
"""
from __future__ import annotations

import json
from pathlib import Path
import platform
import time
from typing import Any, Callable, Sequence

import numpy as np

from training.data.dataset import Dataset
from training.data.label_views import label_views, POSED_VIEW, select
from training.data.preprocess import normalize
from training.evaluation.metrics import classification_report


def test_split_inputs(dataset: Dataset, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    part = dataset.splits[split]
    return normalize(part.images), part.labels


def flip_tta(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Average the probabilities of each face and its mirror image."""
    return 0.5 * (predict(x) + predict(x[:, :, ::-1]))


def report_both(probs: np.ndarray, probs_tta: np.ndarray, y: np.ndarray, labels: Sequence[str],
                mask: np.ndarray | None = None) -> dict[str, Any]:
    if mask is not None:
        probs, probs_tta, y = probs[mask], probs_tta[mask], y[mask]
    return {"no_tta": classification_report(y, probs.argmax(1), labels),
            "flip_tta": classification_report(y, probs_tta.argmax(1), labels)}


def evaluate_tflite(path: Path | str, x: np.ndarray, y: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Card-sized summary of a .tflite model: accuracy / macro F1 / per-class, with and without TTA."""
    from training.models.litert import LiteRTClassifier

    model = LiteRTClassifier(path)
    both = report_both(model.predict(x), flip_tta(model.predict, x), y, labels)
    plain, tta = both["no_tta"], both["flip_tta"]
    return {"accuracy": plain["accuracy"], "macro_f1": plain["macro_f1"], "mean_recall": plain["mean_recall"],
            "per_class_f1": {k: v["f1"] for k, v in plain["per_class"].items()},
            "per_class_recall": {k: v["recall"] for k, v in plain["per_class"].items()},
            "flip_tta_accuracy": tta["accuracy"], "flip_tta_macro_f1": tta["macro_f1"], "samples": len(y)}


def latency_ms(path: Path | str, x: np.ndarray, repeats: int = 200) -> dict[str, float]:
    """Median LiteRT time per face (1 thread): single faces, and batches of 5 divided by 5."""
    from training.models.litert import LiteRTClassifier

    model = LiteRTClassifier(path)
    result = {}
    for batch in (1, 5):
        times = []
        for i in range(repeats):
            sample = x[(i * batch) % (len(x) - batch):][:batch]
            start = time.perf_counter()
            model(sample)
            times.append((time.perf_counter() - start) * 1000.0 / batch)
        result[f"batch{batch}_ms_per_face"] = float(np.median(times[10:]))
    return result


def save_confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix, dtype=np.float64)
    rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(labels), 0.8 + 0.7 * len(labels)))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{rates[i, j]:.2f}\n{int(m[i, j])}", ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def markdown_report(report: dict[str, Any]) -> str:
    task, labels = report["task"], report["labels"]
    lines = [f"# {task.capitalize()} model evaluation", "",
             f"Test split: {report['dataset']} `{report['split']}` ({report['samples']} faces). "
             f"Model: `{report['model']}` ({report['parameters']} parameters). "
             f"Generated by `{report['command']}` on {report['created']}.", "",
             "| model | subset | accuracy | mean class recall | macro F1 | accuracy, flip TTA | macro F1, flip TTA |",
             "|---|---|---|---|---|---|---|"]
    for name, result in report["models"].items():
        for subset, both in result["subsets"].items():
            lines.append(f"| {name} | {subset} | {_pct(both['no_tta']['accuracy'])} | "
                         f"{_pct(both['no_tta']['mean_recall'])} | "
                         f"{both['no_tta']['macro_f1']:.4f} | {_pct(both['flip_tta']['accuracy'])} | "
                         f"{both['flip_tta']['macro_f1']:.4f} |")
    for name, result in report["models"].items():
        for subset, both in list(result["subsets"].items())[: report.get("per_class_subsets", 1)]:
            per_class = both["no_tta"]["per_class"]
            lines += ["", f"## Per class: {name}, {subset} (no TTA)", "",
                      "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            lines += [f"| {label} | {per_class[label]['precision']:.3f} | {per_class[label]['recall']:.3f} | "
                      f"{per_class[label]['f1']:.3f} | {per_class[label]['support']} |" for label in labels]
        for subset, png in result.get("confusion_pngs", {}).items():
            lines += ["", f"![confusion matrix, {name}, {subset}]({png})"]
        if result.get("confusion_png"):
            lines += ["", f"![confusion matrix, {name}]({result['confusion_png']})"]
    band_subsets = [s for s in next(iter(report["models"].values()))["subsets"] if s.startswith("age ")]
    if band_subsets:
        # Small confusion matrices (gender by age band) inline: rows true, columns predicted.
        pairs = [(t, p) for t in labels for p in labels]
        lines += ["", "## Confusion by age band (no TTA; true -> predicted)", "",
                  "| model | band | " + " | ".join(f"{t} -> {p}" for t, p in pairs) + " |",
                  "|---|---|" + "---|" * len(pairs)]
        for name, result in report["models"].items():
            for subset in band_subsets:
                matrix = result["subsets"][subset]["no_tta"]["confusion_matrix"]
                cells = [str(matrix[labels.index(t)][labels.index(p)]) for t, p in pairs]
                lines.append(f"| {name} | {subset[4:]} | " + " | ".join(cells) + " |")
    if report.get("latency"):
        lat = report["latency"]
        lines += ["", "## Latency (LiteRT, 1 thread, median per face)", "",
                  f"{lat['batch1_ms_per_face']:.3f} ms one face at a time; {lat['batch5_ms_per_face']:.3f} ms "
                  f"per face in batches of 5 ({lat['machine']})."]
    if report.get("guided_backprop_png"):
        lines += ["", "## Guided back-propagation", "", f"![guided backprop]({report['guided_backprop_png']})"]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def _model_result(probs: np.ndarray, probs_tta: np.ndarray, views: dict, confusion_views: list[str],
                  labels: Sequence[str], task: str, who: str, out_dir: Path, png_stem: str) -> dict[str, Any]:
    """Report for every label view, and confusion PNGs (first view: ``png_stem``.png)."""
    subsets = {}
    for view_name, view in views.items():
        y_view, p_view, t_view = select(view, probs, probs_tta)
        subsets[view_name] = report_both(p_view, t_view, y_view, labels)
    pngs = {}
    for i, view_name in enumerate(confusion_views):
        suffix = "" if i == 0 else "_" + view_name.split()[0].lower().replace("+", "plus").replace("-", "")
        pngs[view_name] = save_confusion_png(
            subsets[view_name]["no_tta"]["confusion_matrix"], labels,
            f"{task}: {who}, {view_name}, test accuracy {_pct(subsets[view_name]['no_tta']['accuracy'])}",
            out_dir / f"{png_stem}{suffix}.png").name
    return {"subsets": subsets, "confusion_pngs": pngs}


def evaluate(task: str, model_path: Path, data: Path | None, anchor_dir: Path | None, out_dir: Path,
             command: str) -> dict[str, Any]:
    import keras

    from face_perception.classification.model_card import load_model_card
    from training.models.anchor import anchor_path, anchor_predict, ANCHOR_SIDE
    from training.evaluation.saliency import guided_backprop, save_figure
    from training.models.litert import LiteRTClassifier
    from training.data.tasks import load_task_data

    card = load_model_card(model_path.with_name(f"{task}.card.json"))
    # rgb cards: colour faces; a card framing: faces re-detected and cut the node's way.
    dataset = load_task_data(task, data, side=card.input_height, color=card.color, framing=card.framing)
    labels = list(card.labels)
    if labels != dataset.labels:
        raise ValueError(f"card labels {labels} differ from the data set's {dataset.labels}")
    test = dataset.splits["test"]
    x, y = normalize(test.images, card.scale, card.offset), test.labels
    views = label_views(task, test, dataset.labels)
    # Confusion matrices for every label set of emotion, for every face of gender.
    # Emotion: FER+ and original labels; with several sets, the union and each set's own labels.
    shown = len(dataset.info["source_set"]) + 1 if "source_set" in dataset.info else 2
    confusion_views = [v for v in views if v != POSED_VIEW][:shown] if task == "emotion" else list(views)[:1]

    ours = LiteRTClassifier(model_path)
    probs, probs_tta = ours.predict(x), flip_tta(ours.predict, x)
    keras_path = model_path.with_suffix(".keras")
    params = keras.models.load_model(keras_path, compile=False).count_params() if keras_path.is_file() else None
    report: dict[str, Any] = {
        "task": task, "labels": labels, "dataset": dataset.name, "split": "test",
        "split_info": dataset.info, "samples": int(len(y)), "model": model_path.name, "parameters": params,
        "command": command, "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "models": {}, "notes": [],
    }
    report["per_class_subsets"] = len(confusion_views)
    if "ferplus_majority" in test.extra:
        # What a perfect FER+ model would score on the original labels: FER+ overturned many.
        labelled = test.extra["ferplus_majority"] >= 0
        if "source_set" in test.extra:  # other sets' majority is their own label: FER-2013's faces only
            from training.data.tasks import EMOTION_SETS
            labelled &= test.extra["source_set"] == EMOTION_SETS.index("fer2013")
        agreement = float((test.extra["ferplus_majority"][labelled] == test.labels[labelled]).mean())
        report["ferplus_original_agreement"] = agreement
        report["notes"].append(
            f"On the {int(labelled.sum())} test faces with a FER+ majority, that majority equals the original "
            f"FER-2013 label on {_pct(agreement)} of them: a model that learns FER+ perfectly scores about that "
            "on the original labels, so a FER+ model must lose points there. We report the number and do not "
            "tune for it.")
    name = f"ours ({model_path.name})"
    report["models"][name] = _model_result(probs, probs_tta, views, confusion_views, labels, task, "ours",
                                           out_dir, f"{task}_confusion")

    if anchor_dir is not None and anchor_path(task, anchor_dir).is_file():
        # The paper's models want 64x64 grey; decode UTKFace at 64 from the source (FER is 48x48
        # native), grey also when ours is an rgb model.
        source = (load_task_data(task, data, side=ANCHOR_SIDE, framing=card.framing).splits["test"]
                  if task == "gender" else test)
        if not np.array_equal(source.labels, y):
            raise ValueError("anchor test split differs from ours")
        a_probs = anchor_predict(task, source.images, anchor_dir)
        a_tta = 0.5 * (a_probs + anchor_predict(task, source.images[:, :, ::-1], anchor_dir))
        a_name = f"paper ({anchor_path(task, anchor_dir).name})"
        report["models"][a_name] = _model_result(a_probs, a_tta, views, confusion_views, labels, task,
                                                 "paper's model", out_dir, f"{task}_confusion_paper")
        report["notes"].append(f"Paper's model fed {ANCHOR_SIDE}x{ANCHOR_SIDE} grey scaled to [-1, 1] "
                               "(its published preprocessing)" + (
                                   "; its [woman, man] outputs mapped to [male, female]" if task == "gender" else ""))
    else:
        report["notes"].append(f"paper's model not found under {anchor_dir}: not compared")

    lat = latency_ms(model_path, x)
    lat["machine"] = f"{platform.machine()} {len(__import__('os').sched_getaffinity(0))} cores"
    report["latency"] = lat

    if keras_path.is_file():
        model = keras.models.load_model(keras_path, compile=False)
        # Show the first correctly classified test face of the least frequent class.
        # Labels of the primary view; -1 where that view has none (e.g. no FER+ majority).
        primary_mask, primary_labels = next(iter(views.values()))
        y = primary_labels if primary_mask is None else np.where(primary_mask, primary_labels, -1)
        rare = int(np.argmin(np.bincount(y[y >= 0], minlength=len(labels))[: len(labels)]))
        pick = next((i for i in range(len(y)) if y[i] == rare and probs[i].argmax() == rare), 0)
        gradient = guided_backprop(model, x[pick], int(y[pick]))
        report["guided_backprop_png"] = save_figure(
            test.images[pick], gradient, f"{task}: {labels[y[pick]]} (test face {pick})",
            out_dir / f"{task}_guided_backprop.png").name
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{task}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / f"{task}.md").write_text(markdown_report(report))
    return report


def evaluate_age(model_path: Path, data: Path | None, out_dir: Path, command: str) -> dict[str, Any]:
    """Age report: MAE in years, by band, band accuracy and confusion, against constant baselines."""
    import keras

    from face_perception.classification.model_card import load_model_card
    from training.evaluation.age_report import age_markdown, age_report, BAND_NAMES
    from training.models.litert import LiteRTClassifier
    from training.data.tasks import load_task_data

    card = load_model_card(model_path.with_name("age.card.json"))
    centers = card.raw["age_bins"]["centers_years"]
    dataset = load_task_data("age", data, side=card.input_height, color=card.color, framing=card.framing)
    if list(card.labels) != dataset.labels:
        raise ValueError(f"card labels {list(card.labels)} differ from the data set's {dataset.labels}")
    test = dataset.splits["test"]
    x = normalize(test.images, card.scale, card.offset)
    model = LiteRTClassifier(model_path)
    ages = age_report(model.predict(x), flip_tta(model.predict, x), centers, test.extra["age"],
                      dataset.splits["train"].extra["age"])
    keras_path = model_path.with_suffix(".keras")
    params = keras.models.load_model(keras_path, compile=False).count_params() if keras_path.is_file() else None
    lat = latency_ms(model_path, x)
    lat["machine"] = f"{platform.machine()} {len(__import__('os').sched_getaffinity(0))} cores"
    png = save_confusion_png(ages["ours"]["band_confusion_matrix"], BAND_NAMES,
                             f"age band of the estimate, test MAE {ages['ours']['mae_years']:.2f} years",
                             out_dir / "age_band_confusion.png").name
    report = {"task": "age", "dataset": dataset.name, "split": "test", "split_info": dataset.info,
              "samples": int(len(x)), "model": model_path.name, "parameters": params, "command": command,
              "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "age": ages, "latency": lat,
              "band_confusion_png": png}
    text = "\n".join([
        "# Age model evaluation", "",
        f"Test split: {dataset.name} `test` ({len(x)} faces, the seeded split shared with gender). Model: "
        f"`{model_path.name}` ({params} parameters). Generated by `{command}` on {report['created']}.",
        "The estimate is the expectation of the model's distribution over age bins. The paper has no age "
        "model; the baselines answer every face with one constant age from the training split.", "",
        age_markdown(ages), f"![band confusion]({png})", "",
        "## Latency (LiteRT, 1 thread, median per face)", "",
        f"{lat['batch1_ms_per_face']:.3f} ms one face at a time; {lat['batch5_ms_per_face']:.3f} ms per face "
        f"in batches of 5 ({lat['machine']}).", ""])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "age.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "age.md").write_text(text)
    return report
