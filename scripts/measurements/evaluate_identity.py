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
Face identity on LFW: verification, rank-1 identification, the threshold, and alignment's cost.

People with >= 2 images are split by person (seed 28, 30% validation); each face is embedded
by dlib's ResNet after three alignments: ``dlib`` (dlib's HOG detector and 5-point predictor,
the network's own), ``blazeface`` (our BlazeFace keypoints, face_embedding.align_chip) and
``haar`` (a Haar box with the BlazeFace pass in it, as the default node does; the box's mean
layout where that finds nothing). The threshold is read on validation at a false accept rate
of 1e-3; test gives TAR at FAR 1e-2 / 1e-3, the rates at that threshold, and rank-1
identification with one enrolled photo per person.
Run: nice -n 15 .venv/bin/python scripts/measurements/evaluate_identity.py [--people-val 150 --people-test 400]
Writes out/identity_eval.json.
"""
from __future__ import annotations

import argparse
import sys
import tarfile
import time

import cv2
import numpy as np

from face_perception.classification.framing import BOX_KEYPOINT_PRIORS
from face_perception.detection.detectors import create_detector
from face_perception.detection.keypoints import RegionKeypointFinder
from face_perception.identity.face_embedding import align_chip, CHIP_SIZE, dlib_model_path, DlibFaceEmbedder
from face_perception.parameters import PipelineConfig
from identity_lfw import limit_images, split_people, SPLIT_SEED, write_report
from training.data.loaders.lfw import read_photo
from training.paths import DEFAULT_LFW

METHODS = ("dlib", "blazeface", "haar")


class Aligners:
    """The three ways to a chip; each returns None where its detector finds no face."""

    def __init__(self) -> None:
        import dlib

        self._dlib_detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5_face_landmarks.dat")))
        self._blazeface = create_detector(PipelineConfig.from_mapping(
            {"detection.backend": "blazeface"}).detection)
        self._haar = create_detector(PipelineConfig.defaults().detection)
        self._finder = RegionKeypointFinder()

    def chip(self, method: str, bgr: np.ndarray) -> np.ndarray | None:
        if method == "dlib":
            import dlib

            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            faces = self._dlib_detector(rgb, 1)
            if not faces:
                return None
            best = max(faces, key=lambda r: r.width() * r.height())
            return dlib.get_face_chip(rgb, self._predictor(rgb, best), size=CHIP_SIZE, padding=0.25)
        found = self.chip_and_keypoints(method, bgr)
        return None if found is None else found[0]

    def chip_and_keypoints(self, method: str, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Return the node's chip of the largest face and its keypoints (source pixels), for blazeface or haar."""
        detector = self._blazeface if method == "blazeface" else self._haar
        detections = detector.detect(bgr)
        if not detections:
            return None
        best = max(detections, key=lambda d: d.w * d.h)
        if best.keypoints is None:
            best = self._finder.add_keypoints(bgr, [best])[0]
        keypoints = best.keypoints
        if keypoints is None:
            x, y, w, h = best.box
            keypoints = [(x + px * w, y + py * h) for px, py in BOX_KEYPOINT_PRIORS[method]]
        return align_chip(bgr, keypoints), np.asarray(keypoints, np.float64)


def embed_split(tar, people: dict[str, list[str]], aligners: Aligners, embedder: DlibFaceEmbedder
                ) -> dict[str, dict]:
    """Embed every face of ``people`` by every method: method -> {labels, vectors, missed, embed_s}."""
    out = {m: {"labels": [], "vectors": [], "missed": 0, "embed_s": 0.0} for m in METHODS}
    for label, (person, paths) in enumerate(people.items()):
        for path in paths:
            bgr = read_photo(tar, path)
            for method in METHODS:
                chip = aligners.chip(method, bgr)
                if chip is None:
                    out[method]["missed"] += 1
                    continue
                start = time.perf_counter()
                vector = embedder.embed([chip])[0]
                out[method]["embed_s"] += time.perf_counter() - start
                out[method]["labels"].append(label)
                out[method]["vectors"].append(vector)
    for result in out.values():
        result["labels"] = np.array(result["labels"])
        result["vectors"] = np.array(result["vectors"], np.float32)
    return out


def pair_distances(labels: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances of every same-person pair and every different-person pair (each pair once)."""
    squared = (vectors ** 2).sum(1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * vectors @ vectors.T, 0))
    upper = np.triu(np.ones_like(distances, bool), k=1)
    same = labels[:, None] == labels[None, :]
    return distances[upper & same], distances[upper & ~same]


def threshold_at_far(impostor: np.ndarray, far: float) -> float:
    """Return the largest threshold whose false accept rate (impostor distance <= threshold) is <= far."""
    ordered = np.sort(impostor)
    allowed = int(np.floor(far * len(ordered)))
    return float(ordered[allowed] - 1e-6) if allowed < len(ordered) else float(ordered[-1])


def rank1(labels: np.ndarray, vectors: np.ndarray, threshold: float) -> dict:
    """One enrolled photo per person (their first), the others probe: closed-set rank-1 and open-set at threshold."""
    first = {}
    for index, label in enumerate(labels):
        first.setdefault(int(label), index)
    gallery = np.array(sorted(first.values()))
    probes = np.array([i for i in range(len(labels)) if i not in set(gallery)])
    distances = np.linalg.norm(vectors[probes][:, None, :] - vectors[gallery][None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    correct = labels[gallery][nearest] == labels[probes]
    accepted = distances[np.arange(len(probes)), nearest] <= threshold
    return {"gallery": int(len(gallery)), "probes": int(len(probes)), "rank1": float(correct.mean()),
            "correct_and_accepted": float((correct & accepted).mean()),
            "wrong_but_accepted": float((~correct & accepted).mean())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--people-val", type=int, default=150)
    parser.add_argument("--people-test", type=int, default=400)
    parser.add_argument("--images-per-person", type=int, default=4)
    parser.add_argument("--out", default="out/identity_eval.json")
    args = parser.parse_args()
    aligners, embedder = Aligners(), DlibFaceEmbedder()
    report: dict = {"split_seed": SPLIT_SEED, "methods": {}}
    with tarfile.open(DEFAULT_LFW) as tar:
        validation, test = split_people(tar)
        report["people_with_2_or_more_images"] = {"validation": len(validation), "test": len(test)}
        validation = limit_images(validation, args.people_val, args.images_per_person)
        test = limit_images(test, args.people_test, args.images_per_person)
        val_embedded = embed_split(tar, validation, aligners, embedder)
        test_embedded = embed_split(tar, test, aligners, embedder)
    for method in METHODS:
        val, tst = val_embedded[method], test_embedded[method]
        genuine_v, impostor_v = pair_distances(val["labels"], val["vectors"])
        threshold = threshold_at_far(impostor_v, 1e-3)
        genuine, impostor = pair_distances(tst["labels"], tst["vectors"])
        result = {
            "validation": {"people": len(validation), "faces": int(len(val["labels"])), "missed": val["missed"],
                           "threshold_at_far_1e-3": threshold,
                           "tar_at_threshold": float((genuine_v <= threshold).mean())},
            "test": {"people": len(test), "faces": int(len(tst["labels"])), "missed": tst["missed"],
                     "genuine_pairs": int(len(genuine)), "impostor_pairs": int(len(impostor)),
                     "ms_per_embedding": 1000 * tst["embed_s"] / max(1, len(tst["labels"]))},
        }
        for far in (1e-2, 1e-3):
            t = threshold_at_far(impostor, far)
            result["test"][f"tar_at_far_{far:g}"] = float((genuine <= t).mean())
        result["test"]["at_validation_threshold"] = {
            "tar": float((genuine <= threshold).mean()), "far": float((impostor <= threshold).mean())}
        result["test"]["at_dlib_default_0.6"] = {
            "tar": float((genuine <= 0.6).mean()), "far": float((impostor <= 0.6).mean())}
        result["test"]["identification"] = rank1(tst["labels"], tst["vectors"], threshold)
        report["methods"][method] = result
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
