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
The seed paper's demo path (Arriaga et al., face_classification video demo), for comparison.

Per frame: BGR -> grey, Haar ``detectMultiScale(scaleFactor=1.1, minNeighbors=5,
minSize=(30, 30))`` on the full frame, then for every face its own crop (the demo's offsets:
emotion 20/40 px, gender 30/60 px), resize, scale to [-1, 1] and one Keras
``model.predict`` per face and model. Imports TensorFlow: never load this in the process
whose memory is reported as ours.
"""
from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import time
from typing import Any, Sequence

import cv2
import numpy as np

from benchlib.common import publish_stage, SHARED_ANCHOR_DIR
from training.models.anchor import anchor_path  # the training side owns the paper models' file names

# The anchor models' output orders (the paper's repo: FER-2013 order; gender [woman, man]).
ANCHOR_LABELS = {
    "emotion": ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"),
    "gender": ("female", "male"),
}
# apply_offsets() in the paper's demo: (x_off, y_off) added on each side.
DEMO_OFFSETS = {"emotion": (20, 40), "gender": (30, 60)}


@dataclass(frozen=True)
class KerasModelSpec:
    task: str
    source: str  # "anchor", "project" or "untrained-stand-in"
    path: str
    labels: tuple[str, ...]
    scale: float
    offset: float


def resolve_baseline_models(ours_models: dict[str, str],
                            anchor_dir: Path = SHARED_ANCHOR_DIR) -> dict[str, KerasModelSpec]:
    """
    Return the paper's published models when present, else our models' .keras twins, else a stand-in.

    ``ours_models``: task -> the .tflite path our side uses ('' = shipped), for the .keras twin.
    """
    from face_perception.classification.classification import card_path_for, resolve_model_path

    specs = {}
    for task in ("emotion", "gender"):
        anchor = anchor_path(task, anchor_dir)
        tflite = resolve_model_path(ours_models.get(task, ""), task)
        twin = tflite.with_suffix(".keras")
        if anchor.is_file():
            specs[task] = KerasModelSpec(task, "anchor", str(anchor), ANCHOR_LABELS[task], 2.0 / 255.0, -1.0)
        elif twin.is_file() and card_path_for(tflite).is_file():
            card = json.loads(card_path_for(tflite).read_text())
            norm = card["input"]["normalization"]
            specs[task] = KerasModelSpec(task, "project", str(twin), tuple(card["labels"]),
                                         float(norm["scale"]), float(norm["offset"]))
        else:
            # Same architecture and size as the paper's model, untrained: right speed, no meaning.
            specs[task] = KerasModelSpec(task, "untrained-stand-in", "", ANCHOR_LABELS[task], 2.0 / 255.0, -1.0)
    return specs


def load_keras_model(spec: KerasModelSpec):
    import keras

    if spec.path:
        return keras.models.load_model(spec.path, compile=False)
    from training.models.architectures import build_mini_xception

    keras.utils.set_random_seed(7)
    return build_mini_xception(input_shape=(64, 64, 1), num_classes=len(spec.labels))


def apply_offsets(box: Sequence[int], offsets: tuple[int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """Return the demo's crop, clipped to the image (the demo relies on numpy's slicing instead)."""
    x, y, w, h = box
    x_off, y_off = offsets
    return max(0, x - x_off), min(width, x + w + x_off), max(0, y - y_off), min(height, y + h + y_off)


class PaperBaseline:
    """Stateless per-frame path of the paper's demo; the publish stage is the node's, for fairness."""

    def __init__(self, specs: dict[str, KerasModelSpec], draw: bool) -> None:
        self.specs = specs
        self.models = {task: load_keras_model(spec) for task, spec in specs.items()}
        self.sizes = {task: tuple(int(v) for v in model.input_shape[1:3]) for task, model in self.models.items()}
        self.cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
        self.draw = draw

    def detect(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        boxes = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30),
                                              flags=cv2.CASCADE_SCALE_IMAGE)
        return [tuple(int(v) for v in box) for box in boxes]

    def model_input(self, gray: np.ndarray, box: Sequence[int], task: str) -> np.ndarray:
        height, width = gray.shape
        x1, x2, y1, y2 = apply_offsets(box, DEMO_OFFSETS[task], width, height)
        size_h, size_w = self.sizes[task]
        face = cv2.resize(gray[y1:y2, x1:x2], (size_w, size_h)).astype(np.float32)
        face = face * self.specs[task].scale + self.specs[task].offset
        return face[np.newaxis, :, :, np.newaxis]

    def predict(self, task: str, face: np.ndarray) -> np.ndarray:
        return self.models[task].predict(face, verbose=0)[0]

    def step(self, message) -> dict[str, float]:
        from face_perception.ros.ros_messages import image_msg_to_bgr

        start = time.perf_counter()
        bgr = image_msg_to_bgr(message)
        converted = time.perf_counter()
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        boxes = self.detect(gray)
        detected = time.perf_counter()
        # The demo crops and predicts face by face; the two are timed apart here.
        crop_s = classify_s = 0.0
        faces = []
        for index, box in enumerate(boxes):
            t0 = time.perf_counter()
            inputs = {task: self.model_input(gray, box, task) for task in ("emotion", "gender")}
            t1 = time.perf_counter()
            probabilities = {task: self.predict(task, inputs[task]) for task in ("emotion", "gender")}
            t2 = time.perf_counter()
            crop_s += t1 - t0
            classify_s += t2 - t1
            faces.append(self.face_result(index, box, probabilities))
        classified = time.perf_counter()
        publish_stage(faces, bgr, message.header, self.draw)
        end = time.perf_counter()
        return {
            "convert": (converted - start) * 1000.0,
            "detect": (detected - converted) * 1000.0,
            "crop": crop_s * 1000.0,
            "classify": classify_s * 1000.0,
            "track": 0.0,
            "publish": (end - classified) * 1000.0,
            "total": (end - start) * 1000.0,
            "faces": len(boxes),
        }

    def face_result(self, index: int, box: Sequence[int], probabilities: dict[str, np.ndarray]):
        """Return the node's FaceResult for one baseline face, so both sides publish the same messages."""
        from face_perception.classification.face_model import ClassDistribution
        from face_perception.pipeline.pipeline import FaceResult

        # The demo has no tracking and no "unknown" gender: the raw answer, always given.
        outputs = {task: ClassDistribution(self.specs[task].labels, tuple(float(p) for p in probabilities[task]))
                   for task in ("gender", "emotion")}
        return FaceResult(track_id=f"b{index}", box=tuple(box), detection_confidence=1.0, track_age=1,
                          outputs=outputs, raw_outputs=outputs)


def classification_call_styles(baseline: PaperBaseline, lite_classifiers: dict[str, Any],
                               reps: int) -> dict[str, float]:
    """
    Measure ms per face (both models) for one 64x64 face through each way of calling the model.

    Says how much of the classification ratio is Keras' predict() overhead rather than the
    runtime: predict (the paper), a direct eager call, a traced tf.function, and LiteRT.
    """
    import warnings

    import tensorflow as tf

    # Keras 3 warns that the Keras-2 HDF5 models name their input differently; harmless here.
    warnings.filterwarnings("ignore", message="The structure of `inputs`")
    faces = {task: np.zeros((1, *baseline.sizes[task], 1), np.float32) for task in baseline.models}
    traced = {task: tf.function(model) for task, model in baseline.models.items()}
    styles = {
        "keras_predict": lambda task, x: baseline.models[task].predict(x, verbose=0),
        "keras_eager_call": lambda task, x: baseline.models[task](x, training=False),
        "keras_tf_function": lambda task, x: traced[task](x, training=False),
    }
    results = {name: _time_per_face(call, faces, reps) for name, call in styles.items()}
    if lite_classifiers:
        lite_faces = {task: np.zeros((1, c.input_spec.height, c.input_spec.width, c.input_spec.channels), np.float32)
                      for task, c in lite_classifiers.items()}
        results["litert_ours"] = _time_per_face(lambda task, x: lite_classifiers[task].predict(x), lite_faces, reps)
    return results


def _time_per_face(call, faces: dict[str, np.ndarray], reps: int) -> float:
    for task, face in faces.items():  # warm-up (tracing, allocation)
        call(task, face)
        call(task, face)
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        for task, face in faces.items():
            call(task, face)
        samples.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(samples))
