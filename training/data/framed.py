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
Training faces cut the node's way.

Training faces cut the node's way: the node's detector re-detects every dataset image and
``face_perception.classification.framing`` (the node's own function) cuts the face from it.

Each source image is padded (half its side of black on every edge, so a tight dataset chip
looks like a face in a larger picture) and searched by the node's BlazeFace detector with its
default parameters. The most confident face gives the keypoints. Images where no face is
found keep the data set's own framing mapped to the node's: the median keypoint layout of the
found faces of the same data set (counted, and recorded in the card).

The keypoints are cached under build/cache, keyed by the images' bytes and the detector.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from training.data.dataset import Dataset, Split
from training.paths import CACHE_DIR

# Source images are kept at this side for cutting (UTKFace's 100 px chips are enlarged to it,
# LFW's 112 px kept, FairFace's 224 px shrunk), so the sets stack into one array.
SOURCE_SIDE = 112
PAD_FRACTION = 0.5
DETECTOR = {"detection.backend": "blazeface"}  # the node's parameters otherwise at their defaults
KEYPOINTS_VERSION = "v1"


def node_detector():
    """Return the node's BlazeFace detector, built from the node's parameter defaults."""
    from face_perception.detection.detectors import create_detector
    from face_perception.parameters import PipelineConfig

    return create_detector(PipelineConfig.from_mapping(DETECTOR).detection)


def detect_keypoints(images_rgb: np.ndarray, central: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """
    Return (keypoints float32 [N, 6, 2] in source pixels, found bool [N]) for RGB uint8 images.

    Not-found rows are NaN. The most confident face gives the keypoints, or with ``central`` the
    face whose box centre is nearest the image centre (sets whose labelled face is centred in a
    scene with other people).
    """
    import cv2

    detector = node_detector()
    keypoints = np.full((len(images_rgb), 6, 2), np.nan, np.float32)
    found = np.zeros(len(images_rgb), bool)
    for i, image in enumerate(images_rgb):
        pad = int(round(PAD_FRACTION * max(image.shape[:2])))
        canvas = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        # The detector reads BGR, as the node hands it camera frames.
        detections = detector.detect(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
        if central:
            middle = np.array(canvas.shape[1::-1], np.float64) / 2
            detections = sorted(detections, key=lambda d: float(np.hypot(*(_box_centre(d) - middle))))
        if detections and detections[0].keypoints is not None:
            keypoints[i] = np.asarray(detections[0].keypoints, np.float32) - pad
            found[i] = True
    return keypoints, found


def _box_centre(detection) -> np.ndarray:
    return np.array([detection.x + detection.w / 2, detection.y + detection.h / 2], np.float64)


def cached_keypoints(images_rgb: np.ndarray, cache_dir: Path | None = CACHE_DIR,
                     central: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`detect_keypoints`, cached by the images' bytes."""
    if cache_dir is None:
        return detect_keypoints(images_rgb, central)
    digest = hashlib.sha1(np.ascontiguousarray(images_rgb).tobytes()).hexdigest()[:16]
    path = Path(cache_dir) / f"keypoints-{KEYPOINTS_VERSION}{'-central' if central else ''}-{digest}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["keypoints"], data["found"]
    keypoints, found = detect_keypoints(images_rgb, central)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, keypoints=keypoints, found=found)
    tmp.replace(path)
    return keypoints, found


def fill_missing(keypoints: np.ndarray, found: np.ndarray, side: int) -> np.ndarray:
    """Not-found rows get the median layout of the found ones (the data set's own framing)."""
    filled = keypoints.copy()
    if found.any():
        filled[~found] = np.median(keypoints[found], axis=0)
    else:  # nothing found at all: the BlazeFace box prior over the whole image
        from face_perception.classification.framing import BOX_KEYPOINT_PRIORS
        filled[:] = BOX_KEYPOINT_PRIORS["blazeface"] * side
    return filled


def cut_faces(sources: np.ndarray, keypoints: np.ndarray, framing, side: int, color: str) -> np.ndarray:
    """Every source face cut by ``framing`` at ``side``: grey uint8 [N, side, side] or RGB [N, side, side, 3]."""
    import cv2

    channels = () if color == "gray" else (3,)
    out = np.empty((len(sources), side, side, *channels), np.uint8)
    for i, (image, points) in enumerate(zip(sources, keypoints)):
        crop = framing.cut_keypoints(image, points, side, side)
        out[i] = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if color == "gray" else crop
    return out


def _enlarge(images: np.ndarray) -> np.ndarray:
    import cv2

    if images.shape[1:3] == (SOURCE_SIDE, SOURCE_SIDE):
        return images
    if not len(images):  # an empty split (FairFace has no train faces)
        return np.zeros((0, SOURCE_SIDE, SOURCE_SIDE, *images.shape[3:]), np.uint8)
    # Larger sources (FairFace's 224 px) are shrunk by area so they do not alias.
    interpolation = cv2.INTER_AREA if images.shape[1] > SOURCE_SIDE else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (SOURCE_SIDE, SOURCE_SIDE), interpolation=interpolation) for im in images])


def framed_dataset(sources: Dataset, framing_entry: Mapping[str, Any], side: int, color: str,
                   cache_dir: Path | None = CACHE_DIR, central: bool = False) -> Dataset:
    """
    Return ``sources`` re-detected and cut by the framing the card entry names.

    Return ``sources`` (RGB uint8 images of any one size) re-detected and cut by the framing the
    card entry names (``central``: :func:`detect_keypoints`' choice of face). Each split keeps
    ``extra['source']`` (RGB at SOURCE_SIDE) and ``extra['keypoints']`` for framing augmentation;
    ``info['framing']`` records the counts.
    """
    from face_perception.classification.framing import framing_from_card

    framing = framing_from_card(framing_entry, 0.0, "training framing")
    splits, counts = {}, {}
    for name, split in sources.splits.items():
        images = _enlarge(split.images)
        keypoints, found = cached_keypoints(images, cache_dir, central)
        keypoints = fill_missing(keypoints, found, SOURCE_SIDE)
        counts[name] = {"images": int(len(found)), "no_face_found": int((~found).sum())}
        faces = cut_faces(images, keypoints, framing, side, color)
        splits[name] = Split(faces, split.labels, {**split.extra, "source": images, "keypoints": keypoints,
                                                   "face_found": found})
    info = {**sources.info, "framing": {
        **framing.describe(),
        "detector": "the node's BlazeFace (detection.backend blazeface, parameter defaults) on each image "
                    f"padded by {PAD_FRACTION:g} x its side of black on every edge",
        "no_face_found_rule": "the data set's median keypoint layout of the found faces (its own framing "
                              "mapped to the node's)",
        "counts": counts}}
    return Dataset(sources.name, sources.labels, splits, info)


def join(datasets: Sequence[Dataset], set_names: Sequence[str], codes: Sequence[int] | None = None) -> Dataset:
    """
    Join data sets with the same labels, split by split.

    ``extra['source_set']`` says which set each face came from (its index in ``datasets``, or
    its entry of ``codes`` where a task numbers its sets once for all runs);
    extras that not every set has are dropped; ``info['sets']`` records each one's provenance.
    """
    if len(datasets) != len(set_names) or not datasets:
        raise ValueError(f"{len(datasets)} data sets but names {list(set_names)}")
    first = datasets[0]
    for other in datasets[1:]:
        if other.labels != first.labels:
            raise ValueError(f"cannot join {first.name} {first.labels} and {other.name} {other.labels}")
    splits = {}
    for name in first.splits:
        parts = [d.splits[name] for d in datasets]
        keys = set.intersection(*(set(part.extra) for part in parts))
        extra = {k: np.concatenate([part.extra[k] for part in parts]) for k in keys}
        extra["source_set"] = np.concatenate([np.full(len(part), i if codes is None else codes[i], np.int64)
                                              for i, part in enumerate(parts)])
        splits[name] = Split(np.concatenate([part.images for part in parts]),
                             np.concatenate([part.labels for part in parts]), extra)
    info = {"sets": {n: d.info for n, d in zip(set_names, datasets)}, "source_set": list(set_names)}
    return Dataset(" + ".join(d.name for d in datasets), first.labels, splits, info)
