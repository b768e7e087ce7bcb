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
End-to-end accuracy: each face pasted whole into a camera frame and read by the node's pipeline.

The frames, the reading by `FacePerceptionPipeline` with each detector, the model on the data
set's own crops (no detector) beside it, the figures, the Markdown report and the model card's record.
"""
from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import time
from typing import Any, Sequence

import numpy as np


FRAME_WIDTH, FRAME_HEIGHT = 640, 480


FACE_SIZES = (24, 48, 96)


BACKENDS = ("blazeface", "haar", "yunet")


# Photos of scikit-image without a person's face in them.
BACKGROUNDS = ("coffee", "chelsea", "rocket", "brick", "grass", "gravel", "page", "coins", "hubble_deep_field",
               "immunohistochemistry", "colorwheel", "horse", "moon", "retina", "clock", "cell")


# A face box is this many eye distances wide (BlazeFace's box prior: eyes at 0.305 and 0.699).
BOX_PER_EYE_DISTANCE = 1.0 / (0.699 - 0.305)


def background_frames(seed: int = 0) -> list[np.ndarray]:
    """BGR uint8 640x480 frames, one per background photo (cropped to 4:3 and resized)."""
    import cv2
    import skimage.data

    frames = []
    for name in BACKGROUNDS:
        image = getattr(skimage.data, name)()
        if image.dtype != np.uint8:
            image = (255 * (image.astype(np.float64) / max(1.0, float(image.max())))).astype(np.uint8)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGR)
        else:
            image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        height, width = image.shape[:2]
        crop_w = min(width, int(height * 4 / 3))
        crop_h = int(crop_w * 3 / 4)
        x0, y0 = (width - crop_w) // 2, (height - crop_h) // 2
        frames.append(cv2.resize(image[y0:y0 + crop_h, x0:x0 + crop_w], (FRAME_WIDTH, FRAME_HEIGHT),
                                 interpolation=cv2.INTER_AREA))
    return frames


@dataclass(frozen=True)
class PastedFace:
    frame: np.ndarray  # BGR uint8
    centre: tuple[float, float]  # where the face's box centre should be, frame pixels
    face_px: float


def paste_face(source_rgb: np.ndarray, keypoints: np.ndarray, face_px: int, background: np.ndarray,
               rng: np.random.Generator) -> PastedFace:
    """
    Paste ``source_rgb`` into a copy of ``background`` and vary the frame.

    ``source_rgb`` scaled so its face is ``face_px`` wide, pasted at a random place of a copy
    of ``background``, then the whole frame's light, blur and JPEG varied (seeded by ``rng``).
    """
    import cv2

    eye_distance = float(np.hypot(*(keypoints[1] - keypoints[0])))
    scale = face_px / max(1e-3, BOX_PER_EYE_DISTANCE * eye_distance)
    side_h, side_w = source_rgb.shape[:2]
    new_w, new_h = max(2, int(round(side_w * scale))), max(2, int(round(side_h * scale)))
    new_w, new_h = min(new_w, FRAME_WIDTH), min(new_h, FRAME_HEIGHT)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    face = cv2.cvtColor(cv2.resize(source_rgb, (new_w, new_h), interpolation=interpolation), cv2.COLOR_RGB2BGR)
    x0 = int(rng.integers(0, FRAME_WIDTH - new_w + 1))
    y0 = int(rng.integers(0, FRAME_HEIGHT - new_h + 1))
    frame = background.copy()
    frame[y0:y0 + new_h, x0:x0 + new_w] = face
    values = frame.astype(np.float32) / 255.0
    values = values ** np.exp(rng.uniform(-0.35, 0.35))
    values = (values - 0.5) * rng.uniform(0.75, 1.2) + 0.5 + rng.uniform(-0.1, 0.1)
    frame = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.3, 1.0))
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 96))])
    if ok:
        frame = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    sx, sy = new_w / side_w, new_h / side_h
    eye_mid = 0.5 * (keypoints[0] + keypoints[1])
    mouth = keypoints[3]
    # BlazeFace's box centre sits between the eyes and the mouth (its box prior: 0.33 -> 0.5 -> 0.754).
    centre = eye_mid + 0.4 * (mouth - eye_mid)
    return PastedFace(frame, (x0 + centre[0] * sx, y0 + centre[1] * sy), float(face_px))


def nearest_face(faces: Sequence, centre: tuple[float, float], face_px: float):
    """Return the face whose box centre is nearest ``centre``, if within half a face width (>= 8 px), else None."""
    best, best_distance = None, max(8.0, 0.5 * face_px)
    for face in faces:
        x, y, w, h = face.box
        distance = float(np.hypot(x + w / 2 - centre[0], y + h / 2 - centre[1]))
        if distance <= best_distance:
            best, best_distance = face, distance
    return best


def _label_index(task: str, face, labels: Sequence[str]) -> int:
    """Return the face's answer for ``task`` as an index into the data set's ``labels``."""
    if task == "emotion":
        return labels.index(face.emotion)
    # "unknown" (below gender_min_confidence) still has a more likely gender: score that.
    return labels.index(face.gender if face.gender in labels else
                        max(face.gender_probabilities, key=face.gender_probabilities.get))


def run_end_to_end(task_split, labels: Sequence[str], backend: str, face_px: int, models: dict[str, str],
                   seed: int = 0, limit: int = 0, paper: str = "", task: str = "gender") -> dict[str, Any]:
    """
    Run every face of ``task_split`` through the real pipeline.

    Every face of ``task_split`` (needs extra 'source' and 'keypoints') through the real
    pipeline; per face: found or not, the answer's index in ``labels`` (gender, emotion) and
    the age in years. ``paper``: also keep the node's box crops (grey 64x64, margin 0.1: the
    paper's models' input) for the paper's model of that task.
    """
    from face_perception.parameters import PipelineConfig
    from face_perception.pipeline.pipeline import FacePerceptionPipeline

    # Every face is read, however small: this measures what classification.min_face_size is chosen from.
    values = {"detection.backend": backend, "tracking.smoothing": 1.0, "tracking.max_missed_frames": 0,
              "classification.min_face_size": 0}
    values.update({f"classification.{task}_model": path for task, path in models.items()})
    pipeline = FacePerceptionPipeline(PipelineConfig.from_mapping(values))
    backgrounds = background_frames()
    count = len(task_split) if not limit else min(limit, len(task_split))
    rng = np.random.default_rng([seed, face_px])
    found = np.zeros(count, bool)
    answer = np.full(count, -1, np.int64)
    age = np.full(count, np.nan)
    # The node's age group (index in age_groups.AGE_GROUPS, -1: none) and calibrated P(child under 13).
    age_group = np.full(count, -1, np.int64)
    child = np.full(count, np.nan)
    paper_crops, paper_rows = [], []
    start = time.perf_counter()
    for i in range(count):
        pasted = paste_face(task_split.extra["source"][i], task_split.extra["keypoints"][i], face_px,
                            backgrounds[i % len(backgrounds)], rng)
        result = pipeline.process(pasted.frame)
        pipeline.tracker.reset()  # every frame is a new person
        face = nearest_face(result.faces, pasted.centre, pasted.face_px)
        if face is None:
            continue
        found[i] = True
        answer[i] = -1 if task == "age" else _label_index(task, face, labels)
        age[i] = face.age
        if "age" in face.outputs:
            age_group[i], child[i] = _group_and_child(face.outputs["age"])
        if paper:
            import cv2

            from face_perception.classification.preprocessing import crop_faces

            gray = cv2.cvtColor(pasted.frame, cv2.COLOR_BGR2GRAY)
            paper_crops.append(cv2.resize(crop_faces(gray, [face.box], 0.1)[0], (64, 64),
                                          interpolation=cv2.INTER_AREA))
            paper_rows.append(i)
    pipeline.close()
    return {"found": found, "answer": answer, "age": age, "age_group": age_group, "child_probability": child,
            "seconds": time.perf_counter() - start, "paper_crops": np.array(paper_crops),
            "paper_rows": np.array(paper_rows, np.int64)}


def _group_and_child(output) -> tuple[int, float]:
    """Return an age output's group index (-1 without one) and its child probability, as the node publishes them."""
    from face_perception.classification.age_groups import AGE_GROUP_NAMES

    return (AGE_GROUP_NAMES.index(output.group) if output.group else -1), float(output.child_probability)


def crop_outcome(task_split, model_path: str, task: str, count: int, labels: Sequence[str]) -> dict[str, Any]:
    """
    Return the model's outcome on the data set's own faces, no detector.

    Return the model on the data set's own faces, no detector: cut by its card's framing from the
    keypoints found when the data set was re-detected, or (a card without framing) the whole
    image resized, as such models were trained.
    """
    import cv2

    from face_perception.classification.classification import FaceClassifier
    from face_perception.classification.preprocessing import build_batch

    classifier = FaceClassifier(model_path, task)
    spec = classifier.input_spec
    sources, keypoints = task_split.extra["source"][:count], task_split.extra["keypoints"][:count]
    if spec.framing is not None:
        crops = [spec.framing.cut_keypoints(s, k, spec.width, spec.height) for s, k in zip(sources, keypoints)]
    else:
        crops = [cv2.resize(s, (spec.width, spec.height), interpolation=cv2.INTER_AREA) for s in sources]
    # Sources are RGB; build_batch reads colour crops as BGR: hand it BGR (or grey).
    crops = [cv2.cvtColor(c, cv2.COLOR_RGB2GRAY if spec.color == "gray" else cv2.COLOR_RGB2BGR) for c in crops]
    probs = np.concatenate([classifier.predict(build_batch(crops[i:i + 256], spec)) for i in range(0, count, 256)])
    found = np.ones(count, bool)
    if task == "age":
        from face_perception.classification.classification import BinnedValueModel

        # The node's reading of each face's distribution: years, group, child probability.
        outputs = [BinnedValueModel(classifier).read(p) for p in probs]
        groups, children = zip(*(_group_and_child(o) for o in outputs)) if outputs else ((), ())
        return {"found": found, "answer": np.full(count, -1), "age": np.array([o.value for o in outputs]),
                "age_group": np.array(groups, np.int64), "child_probability": np.array(children), "seconds": 0.0}
    answer = np.array([labels.index(classifier.labels[int(i)]) for i in probs.argmax(1)])
    return {"found": found, "answer": answer, "age": np.full(count, np.nan), "seconds": 0.0}


def summarise(task: str, split, labels: Sequence[str], outcome: dict[str, Any]) -> dict[str, Any]:
    """Return the detection rate and, on found faces, accuracy per view (+ emotion's mean class recall) or age MAE."""
    found = outcome["found"]
    n = len(found)
    result: dict[str, Any] = {"faces": int(n), "detected": float(found.mean()) if n else 0.0,
                              "seconds": round(outcome["seconds"], 1)}
    if task != "age":
        from training.data.label_views import label_views

        for name, (mask, y) in label_views(task, split, list(labels)).items():
            keep = found & (np.ones(len(split), bool) if mask is None else mask)[:n]
            if keep.any():
                right = outcome["answer"][keep] == y[:n][keep]
                result[name] = float(right.mean())
                result[name + " faces"] = int(keep.sum())
                if task == "emotion":
                    classes = np.unique(y[:n][keep])
                    recalls = {labels[c]: float(right[y[:n][keep] == c].mean()) for c in classes}
                    result[name + " mean class recall"] = float(np.mean(list(recalls.values())))
                    result[name + " recall per class"] = recalls
    else:
        ages = split.extra["age"][:n]
        keep = found & np.isfinite(outcome["age"])
        result["mae_years"] = float(np.abs(outcome["age"][keep] - ages[keep]).mean()) if keep.any() else None
        if "age_group" in outcome:
            result.update(age_group_figures(outcome, ages, keep))
    return result


def age_group_figures(outcome: dict[str, Any], ages: np.ndarray, keep: np.ndarray,
                      threshold: float = 0.5) -> dict[str, Any]:
    """Return the node's age-group hit rate and is_child precision / recall (child: under 13) on ``keep``."""
    from face_perception.classification.age_groups import group_index

    truth = np.array([group_index(float(a)) for a in ages])
    said = outcome["child_probability"][keep] >= threshold
    child = ages[keep] < 13
    hits = int((said & child).sum())
    return {"age group hit rate": float((outcome["age_group"][keep] == truth[keep]).mean()) if keep.any() else None,
            "is_child precision": hits / int(said.sum()) if said.any() else None,
            "is_child recall": hits / int(child.sum()) if child.any() else None,
            "is_child faces": int(said.sum()), "children faces": int(child.sum())}


def markdown_report(report: dict[str, Any]) -> str:
    """Return the report's results as a Markdown table: one row per setting, one column per number."""
    results = report["results"]
    columns: list[str] = []
    for summary in results.values():
        columns += [k for k in summary if k not in columns and not k.endswith(" faces") and k not in ("seconds",)]
    lines = [f"# End to end: {report['task']}, {report['split']} split", "",
             f"Command: `{report['command']}`", "",
             f"Models: {', '.join(f'{task} `{path}`' for task, path in report['models'].items())}", "",
             "| setting | " + " | ".join(columns) + " |", "|" + " --- |" * (len(columns) + 1)]
    for setting, summary in results.items():
        cells = []
        for column in columns:
            value = summary.get(column)
            if isinstance(value, float) and not column.endswith("mae_years") and not column.startswith("paper mae"):
                cells.append(f"{100 * value:.1f}%")
            elif isinstance(value, float):
                cells.append(f"{value:.2f}")
            elif isinstance(value, dict):  # recall per class
                cells.append(", ".join(f"{label} {recall:.2f}" for label, recall in value.items()))
            else:
                cells.append("" if value is None else str(value))
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    lines += ["", "Accuracies are over the faces the detector found (`detected` is that share); `crop (no "
              "detector)` is the model on the data set's own faces, cut by its card's framing from the "
              "re-detected keypoints (a card without framing: the whole image resized, as it was trained); "
              "`crop, same faces` is that figure on the faces the row's detector found; `paper` is the paper's "
              "model on the node's boxes."]
    return "\n".join(lines) + "\n"


def record_in_card(model_path: str, report: dict[str, Any]) -> Path:
    """Write the report's results into the model's card as ``metrics.end_to_end`` (the card re-validated)."""
    return write_card_metrics(model_path, "end_to_end", {
        "command": report["command"], "split": report["split"], "limit": report["limit"],
        "method": "test faces pasted whole into 640x480 photos at each face width, read by the node's pipeline "
                  "(detector -> framing -> model); accuracies over the faces found; 'crop (no detector)' is the "
                  "model on the data set's faces cut by its framing; 'paper ...' is the paper's model on the "
                  "node's boxes", "results": rounded_results(report)})


def rounded_results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return a report's results per setting, floats to 4 decimals, without the timing."""
    return {setting: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in summary.items() if k != "seconds"}
            for setting, summary in report["results"].items()}


def write_card_metrics(model_path: str, key: str, entry: dict[str, Any]) -> Path:
    """Write ``entry`` as ``metrics.<key>`` of the card beside ``model_path``, re-validated; return the card's path."""
    from face_perception.classification.classification import card_path_for
    from face_perception.classification.model_card import parse_model_card

    path = card_path_for(model_path)
    card = json.loads(path.read_text(encoding="utf-8"))
    card.setdefault("metrics", {})[key] = entry
    parse_model_card(card, path)
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path
