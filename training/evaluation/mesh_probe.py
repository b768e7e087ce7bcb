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
Expression from the face's shape: a probe on validation, before anything is shipped.

Each RAF-DB and ExpW face (FER-2013's 48-px chips are too small for the mesh: the node runs it
only on faces of 48 px and more) is re-detected as in training (training.framed), measured by
the node's 468-point face mesh (no irises), and turned into shape features that do not see skin,
light or photo style: the mesh levelled on the eyes, centred between them and scaled by their
distance (x, y, z of every point), plus distances of brows, lids, lips and jaw. A small network
(one hidden layer, dropout, class-balanced) learns the seven expressions from the training
faces; the appearance model's probabilities on the same faces come from the node's framing.

Reported on validation only (each set's own split): the appearance model alone, the mesh head
alone, and the two fused (log-probabilities added with a weight, the weight chosen by two-fold
cross-validation inside validation, so the figure is not fitted to itself).

    python -m training.evaluation.mesh_probe --model face_perception/models/emotion.keras --json build/mesh_probe.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
import time

import numpy as np

from training.paths import CACHE_DIR

# Mesh indices (MediaPipe's canonical face): brows, lids, lips and jaw points whose distances
# carry expression (a raised or knitted brow, a widened or narrowed eye, a smile, a dropped jaw).
DISTANCE_PAIRS = (
    (105, 159), (334, 386), (66, 159), (296, 386),      # brow to upper lid
    (107, 336), (55, 285),                               # inner brows apart (knitted brows)
    (159, 145), (386, 374),                              # upper to lower lid
    (61, 291), (13, 14), (0, 17),                        # mouth width, inner and outer lip opening
    (61, 1), (291, 1), (61, 152), (291, 152),            # lip corners to nose tip and chin (smile, frown)
    (1, 152), (13, 152),                                 # jaw drop
    (48, 278), (1, 0),                                   # nostrils apart, nose to upper lip (wrinkle)
)


def shape_features(points: np.ndarray) -> np.ndarray:
    """Return the features of one 468x3 mesh: levelled, centred and eye-distance-scaled points, then distances."""
    from face_perception.geometry.mesh_geometry import eye_centres

    points = np.asarray(points, np.float64)
    right, left = eye_centres(points[:, :2])
    centre, axis = 0.5 * (right + left), left - right
    scale = float(np.linalg.norm(axis)) or 1.0
    cos, sin = axis / scale
    rotation = np.array([[cos, sin], [-sin, cos]])
    xy = (points[:, :2] - centre) @ rotation.T / scale
    z = (points[:, 2:3] - points[:, 2:3].mean()) / scale
    aligned = np.hstack([xy, z])
    distances = [np.linalg.norm(aligned[a, :2] - aligned[b, :2]) for a, b in DISTANCE_PAIRS]
    return np.concatenate([aligned.ravel(), distances]).astype(np.float32)


def mesh_features(sources: np.ndarray, cache_key: str,
                  cache_dir: Path | None = CACHE_DIR) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, F], measured bool [N]) for RGB source images, re-detected as training does; cached."""
    import cv2

    from face_perception.detection.face_mesh import FaceMeshLandmarker
    from training.data.framed import node_detector, PAD_FRACTION

    path = Path(cache_dir) / f"mesh-features-v1-{cache_key}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as data:
            return data["features"], data["measured"]
    detector, mesh = node_detector(), FaceMeshLandmarker(irises=False)
    size = 468 * 3 + len(DISTANCE_PAIRS)
    features, measured = np.zeros((len(sources), size), np.float32), np.zeros(len(sources), bool)
    for i, image in enumerate(sources):
        pad = int(round(PAD_FRACTION * max(image.shape[:2])))
        canvas = cv2.cvtColor(cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)),
                              cv2.COLOR_RGB2BGR)
        middle = np.array(canvas.shape[1::-1], np.float64) / 2
        detections = sorted(detector.detect(canvas),
                            key=lambda d: float(np.hypot(d.x + d.w / 2 - middle[0], d.y + d.h / 2 - middle[1])))
        if not detections:
            continue
        landmarks = mesh.measure(canvas, detections[0])
        if landmarks is not None:
            features[i], measured[i] = shape_features(landmarks.points), True
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, features=features, measured=measured)
    return features, measured


def recall_report(labels: np.ndarray, predicted: np.ndarray, names: list[str]) -> dict:
    """Accuracy, mean class recall and each class's recall."""
    recalls = {name: float((predicted[labels == c] == c).mean()) if (labels == c).any() else float("nan")
               for c, name in enumerate(names)}
    return {"faces": int(len(labels)), "accuracy": float((predicted == labels).mean()),
            "mean_recall": float(np.nanmean(list(recalls.values()))), "recall": recalls}


def train_head(x: np.ndarray, y: np.ndarray, classes: int, seed: int = 0, epochs: int = 60):
    """Fit a one-hidden-layer network on standardised features, class-balanced; return its predict function."""
    import keras

    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dropout(0.2),
                              keras.layers.Dense(256, activation="relu",
                                                 kernel_regularizer=keras.regularizers.l2(1e-4)),
                              keras.layers.Dropout(0.5), keras.layers.Dense(classes, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    weights = (counts.sum() / (classes * np.maximum(counts, 1)))[y]
    model.fit((x - mean) / std, y, sample_weight=weights, epochs=epochs, batch_size=128, verbose=0)
    return lambda z: model.predict((z - mean) / std, verbose=0, batch_size=512)


def fuse(cnn: np.ndarray, head: np.ndarray, weight: float) -> np.ndarray:
    """Log-probabilities added, the head's scaled by ``weight``; argmax."""
    return np.argmax(np.log(cnn + 1e-7) + weight * np.log(head + 1e-7), axis=1)


def cross_validated_fusion(cnn: np.ndarray, head: np.ndarray, labels: np.ndarray, names: list[str],
                           weights: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)) -> dict:
    """Fusion weight chosen on one half of validation (mean of accuracy and mean recall), scored on the other."""
    order = np.random.default_rng(0).permutation(len(labels))
    halves = (order[: len(order) // 2], order[len(order) // 2:])
    predicted, chosen = np.empty(len(labels), np.int64), []
    for fit, score in (halves, halves[::-1]):
        def rule(w: float) -> float:
            r = recall_report(labels[fit], fuse(cnn[fit], head[fit], w), names)
            return 0.5 * (r["accuracy"] + r["mean_recall"])
        best = max(weights, key=rule)
        chosen.append(best)
        predicted[score] = fuse(cnn[score], head[score], best)
    return {"weights_chosen": chosen, **recall_report(labels, predicted, names)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=Path("face_perception/models/emotion.keras"),
                   help="appearance model (.keras) whose card framing cuts the faces")
    p.add_argument("--card", type=Path, default=Path("face_perception/models/emotion.card.json"))
    p.add_argument("--train-faces", type=int, default=6000, help="training faces per set (evenly spaced; 0 = all)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import keras

    from training.data.tasks import EMOTION_SET_NAMES, EMOTION_SETS, load_task_data

    card = json.loads(args.card.read_text())
    framing = card["input"]["framing"]
    started = time.time()
    data = load_task_data("emotion", side=card["input"]["height"], framing=framing, emotion_sets=["rafdb", "expw"])
    names = list(data.labels)
    model = keras.models.load_model(args.model, compile=False)
    scale, offset = card["input"]["normalization"]["scale"], card["input"]["normalization"]["offset"]
    report = {"model": str(args.model), "sets": {}}
    parts = {}
    for split_name in ("train", "validation"):
        split = data.splits[split_name]
        keep = np.arange(len(split))
        if split_name == "train" and args.train_faces:
            keep = np.concatenate([np.flatnonzero(split.extra["source_set"] == code)[
                np.linspace(0, (split.extra["source_set"] == code).sum() - 1, args.train_faces).astype(int)
                if (split.extra["source_set"] == code).sum() > args.train_faces
                else slice(None)] for code in np.unique(split.extra["source_set"])])
        sources = split.extra["source"][keep]
        key = f"{split_name}-{hashlib.sha1(np.ascontiguousarray(sources).tobytes()).hexdigest()[:16]}"
        features, measured = mesh_features(sources, key)
        parts[split_name] = (features, measured, split.labels[keep], split.extra["source_set"][keep],
                             split.images[keep])
        print(f"{split_name}: {len(keep)} faces, mesh on {measured.mean():.1%} ({time.time() - started:.0f} s)",
              flush=True)
    x, measured, y, _, _ = parts["train"]
    head = train_head(x[measured], y[measured], len(names))
    x, measured, y, sets, images = parts["validation"]
    cnn = model.predict((images[..., None].astype(np.float32) * scale + offset), verbose=0, batch_size=256)
    mesh_probs = np.full_like(cnn, 1.0 / len(names))
    mesh_probs[measured] = head(x[measured])
    for code in np.unique(sets):
        rows = sets == code
        name = EMOTION_SET_NAMES[EMOTION_SETS[code]]
        report["sets"][name] = {
            "mesh_measured": float(measured[rows].mean()),
            "appearance": recall_report(y[rows], cnn[rows].argmax(1), names),
            "mesh_head": recall_report(y[rows & measured], mesh_probs[rows & measured].argmax(1), names),
            "fused": cross_validated_fusion(cnn[rows], mesh_probs[rows], y[rows], names)}
    report["minutes"] = round((time.time() - started) / 60, 1)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
