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
dlib face descriptors of framed faces, and a softmax head on them: a training-only teacher.

dlib's ResNet descriptor (the node's identity model, ``face_perception.identity.face_embedding``)
was trained on millions of faces of thousands of people, so it holds up on faces unlike UTKFace
better than our 48x48 grey models do. A linear softmax on it, fitted on our labelled training
faces, is a stronger gender teacher for RAF-DB's unlabelled faces (FairFace validation: 84.3%
against 78.6% for the shipped model, fitted on 1,500 UTKFace + LFW faces). It is too slow for the
node (40-400 ms a face), so it only labels training faces.

Descriptors are cut by the node's identity alignment from the keypoints found when a data set
was re-detected (``training.data.framed``) and cached under build/cache by content.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from training.paths import CACHE_DIR

DESCRIPTORS_VERSION = "v1"
BATCH = 64


def _digest(sources: np.ndarray, keypoints: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(sources).data)
    h.update(np.ascontiguousarray(keypoints, np.float64).data)
    return h.hexdigest()[:20]


def face_descriptors(sources_rgb: np.ndarray, keypoints: np.ndarray, cache_dir: Path | None = CACHE_DIR,
                     progress: bool = False) -> np.ndarray:
    """(N, 128) float32 dlib descriptors of RGB sources [N, H, W, 3] at their keypoints [N, 6, 2]."""
    from face_perception.identity.face_embedding import align_chip, DlibFaceEmbedder

    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"descriptors-{DESCRIPTORS_VERSION}-{_digest(sources_rgb, keypoints)}.npz"
        if path.is_file():
            return np.load(path)["descriptors"]
    embedder = DlibFaceEmbedder()
    out = np.zeros((len(sources_rgb), embedder.dimension), np.float32)
    for start in range(0, len(sources_rgb), BATCH):
        rows = range(start, min(start + BATCH, len(sources_rgb)))
        # align_chip takes BGR like the node's frames; the sources are RGB.
        chips = [align_chip(np.ascontiguousarray(sources_rgb[i][..., ::-1]), keypoints[i]) for i in rows]
        out[start:start + len(chips)] = embedder.embed(chips)
        if progress and start % (BATCH * 16) == 0:
            print(f"descriptors {start + len(chips)}/{len(sources_rgb)}", flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, descriptors=out)
    return out


class SoftmaxHead:
    """A linear softmax on descriptors, fitted by full-batch gradient descent with L2 (no extra dependency)."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, mean: np.ndarray | float = 0.0,
                 scale: np.ndarray | float = 1.0) -> None:
        self.weights, self.bias, self.mean, self.scale = weights, bias, mean, scale

    @classmethod
    def fit(cls, x: np.ndarray, labels: np.ndarray, classes: int, l2: float = 1e-4, steps: int = 3000,
            learning_rate: float = 0.5, sample_weights: np.ndarray | None = None,
            standardize: bool = False) -> "SoftmaxHead":
        """Fit on descriptors ``x`` [N, D]; ``standardize``: z-score each dimension first (helps many classes)."""
        x = np.asarray(x, np.float64)
        mean, scale = (x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)) if standardize else (0.0, 1.0)
        x = (x - mean) / scale
        targets = np.eye(classes)[labels]
        w = np.ones(len(x)) if sample_weights is None else np.asarray(sample_weights, np.float64)
        w = w / w.sum()
        weights, bias = np.zeros((x.shape[1], classes)), np.zeros(classes)
        for _ in range(steps):
            gradient = (_softmax(x @ weights + bias) - targets) * w[:, None]
            weights -= learning_rate * (x.T @ gradient + l2 * weights)
            bias -= learning_rate * gradient.sum(axis=0)
        return cls(weights, bias, mean, scale)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = (np.asarray(x, np.float64) - self.mean) / self.scale
        return _softmax(x @ self.weights + self.bias).astype(np.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
