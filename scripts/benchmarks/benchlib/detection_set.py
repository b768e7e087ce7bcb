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
Labelled detection sets, generated at benchmark time (never stored in the repository).

* ``synthetic_frames``: the robot-distance set. Real faces (UTKFace aligned crops from
  ``../shared/data/utkface_100px.tar``) pasted at known boxes of 16-160 px into real
  640x480 backgrounds, each face with its own brightness, contrast and small rotation, the
  frame with a lighting gradient. UTKFace crops are tight (brow to chin, no hair or ears);
  they are blended in with a soft elliptical edge, so no paste seam helps a detector, but
  neither does the head around the face: a harder test than real people at that size.
* ``synthetic_frames(..., source="lfw")``: the same with LFW faces of the gender task's held-out
  test people (``training.loaders.lfw``'s seeded split), each chip pasted whole (face, hair and
  a little of the news photo around it) inside its soft ellipse; faces nobody here trained on.
* ``face_free_frames``: the same backgrounds without faces (and mirrored, darker copies).
* ``anchor_photo``: ``../shared/anchor/test_image.jpg`` with the hand-labelled boxes of
  ``test/data/test_image_faces.json``.
* ``photo_frames``: every ``../shared/anchor/*.jpg`` fitted into a camera frame (640x480 or
  1280x720) and shrunk to 1, 3/4, 1/2 and 0.35 of that inside it. test_image.jpg's reference
  boxes are its hand labels; the other photos carry none: theirs are YuNet's (score >=
  REFERENCE_MIN_SCORE) and BlazeFace's (2 x 2 tiles) faces at the photo's full resolution, where
  faces are 2-6x larger than in the frame, merged (a BlazeFace face overlapping a YuNet one is
  the same face), scaled with the photo. A reference made by a detector favours it: say so.

Backgrounds: the face-free colour and texture photos that ship with scikit-image, plus
three face-free crops of the anchor photo (sky and landscape, pavement, railing) when it is
present.
"""
from __future__ import annotations

from dataclasses import dataclass
import json
import math
from pathlib import Path
import tarfile
from typing import Sequence

import cv2
import numpy as np

from benchlib.common import REPO_ROOT, SHARED_ANCHOR_DIR

UTKFACE_TAR = REPO_ROOT.parent / "shared" / "data" / "utkface_100px.tar"
LABELS_FILE = REPO_ROOT / "test" / "data" / "test_image_faces.json"
FRAME_SIZE = (640, 480)
# Face size bins (box side in pixels) for recall and precision.
SIZE_BINS = (16, 20, 24, 32, 48, 64, 96, 128, 161)
SKIMAGE_BACKGROUNDS = ("coffee", "rocket", "chelsea", "hubble_deep_field", "immunohistochemistry", "brick",
                       "grass", "gravel", "coins", "moon", "page", "clock", "retina")
# Face-free crops of test_image.jpg (x, y, w, h; scaled to 640x480): hills and rooftops left
# of the group, pavement with legs and shoes, railing and drain. Checked against the labels.
ANCHOR_BACKGROUND_CROPS = ((0, 200, 300, 225), (0, 1056, 640, 480), (1408, 1056, 640, 480))
# The face inside a 100x100 UTKFace crop (x0, y0, x1, y1 as fractions): brow to chin,
# cheek to cheek, read off a grid drawn over a sample of crops.
UTK_FACE_BOX = (0.1, 0.1, 0.9, 0.95)
# LFW's deep-funneled chips are aligned, so every face sits at about the same place: the mean of
# YuNet's, BlazeFace's and Haar's median boxes on 300 chips (each box overlaps it by IoU >= 0.8;
# the backends draw their boxes differently, this is none of theirs).
LFW_FACE_BOX = (0.171, 0.161, 0.829, 0.883)


PHOTO_SHRINKS = (1.0, 0.75, 0.5, 0.35)
REFERENCE_MIN_SCORE = 0.8


@dataclass
class LabelledFrame:
    image: np.ndarray  # BGR
    boxes: list[tuple[float, float, float, float]]  # faces, x y w h in pixels
    name: str


def _cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``image`` to cover ``size`` (w, h) and crop the centre."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    width, height = size
    scale = max(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    y0 = (resized.shape[0] - height) // 2
    x0 = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y0:y0 + height, x0:x0 + width])


def backgrounds(anchor_dir: Path = SHARED_ANCHOR_DIR) -> list[tuple[str, np.ndarray]]:
    from skimage import data as skimage_data

    found = []
    for name in SKIMAGE_BACKGROUNDS:
        image = getattr(skimage_data, name)()
        bgr = image if image.ndim == 2 else cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2BGR)
        found.append((name, _cover(bgr, FRAME_SIZE)))
    photo = cv2.imread(str(anchor_dir / "test_image.jpg"))
    if photo is not None:
        labels = json.loads(LABELS_FILE.read_text())["faces"]
        for x, y, w, h in ANCHOR_BACKGROUND_CROPS:
            # Never a labelled face inside a "face-free" crop.
            assert all(fx + fw <= x or fx >= x + w or fy + fh <= y or fy >= y + h for fx, fy, fw, fh in labels)
            found.append((f"test_image crop {x},{y}", _cover(photo[y:y + h, x:x + w], FRAME_SIZE)))
    return found


def face_free_frames(anchor_dir: Path = SHARED_ANCHOR_DIR) -> list[LabelledFrame]:
    frames = []
    for name, image in backgrounds(anchor_dir):
        frames.append(LabelledFrame(image, [], name))
        darker = np.clip(cv2.flip(image, 1).astype(np.float32) * 0.6 + 10, 0, 255).astype(np.uint8)
        frames.append(LabelledFrame(darker, [], name + " mirrored, dark"))
    return frames


def load_utk_faces(count: int, seed: int) -> list[np.ndarray]:
    """``count`` UTKFace crops (BGR 100x100), a seeded sample over the whole set."""
    with tarfile.open(UTKFACE_TAR) as archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".jpg")]
        rng = np.random.default_rng(seed)
        chosen = rng.choice(len(members), size=min(count, len(members)), replace=False)
        faces = []
        for index in chosen:
            data = archive.extractfile(members[int(index)]).read()
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if image is not None:
                faces.append(image)
    return faces


def load_lfw_test_faces(count: int, seed: int) -> list[np.ndarray]:
    """``count`` LFW chips (BGR 112x112) of the gender task's test people, a seeded sample."""
    from training.loaders.lfw import read_lfw
    from training.paths import DEFAULT_LFW
    from training.tasks import UTKFACE_FRACTIONS, UTKFACE_SPLIT_SEED

    test = read_lfw(DEFAULT_LFW, UTKFACE_SPLIT_SEED, UTKFACE_FRACTIONS).splits["test"]
    chosen = np.random.default_rng(seed).choice(len(test.images), size=min(count, len(test.images)), replace=False)
    return [cv2.cvtColor(test.images[int(i)], cv2.COLOR_RGB2BGR) for i in chosen]


FACE_SOURCES = {"utkface": (load_utk_faces, UTK_FACE_BOX), "lfw": (load_lfw_test_faces, LFW_FACE_BOX)}


def _paste_face(frame: np.ndarray, crop: np.ndarray, centre: tuple[float, float], face_side: float,
                angle: float, gain: float, contrast: float,
                face_box: tuple[float, float, float, float] = UTK_FACE_BOX) -> tuple[float, float, float, float]:
    """Blend ``crop`` in so that its face box is ``face_side`` wide; returns the face box."""
    fx0, fy0, fx1, fy1 = face_box
    scale = face_side / ((fx1 - fx0) * crop.shape[1])
    size = max(4, int(round(crop.shape[1] * scale)))
    face = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    face = face.astype(np.float32)
    face = (face - face.mean()) * contrast + face.mean() * gain
    # Soft elliptical edge, rotated with the face.
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(mask, (size // 2, size // 2), (int(size * 0.47), int(size * 0.5)), 0, 0, 360, 1.0, -1)
    blur = max(1, size // 12) * 2 + 1
    mask = cv2.GaussianBlur(mask, (blur, blur), 0)
    rotation = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
    face = cv2.warpAffine(face, rotation, (size, size), borderMode=cv2.BORDER_REFLECT)
    mask = cv2.warpAffine(mask, rotation, (size, size))
    # The face box centre inside the crop, rotated about the crop centre.
    box_cx = ((fx0 + fx1) / 2 - 0.5) * size
    box_cy = ((fy0 + fy1) / 2 - 0.5) * size
    rad = math.radians(-angle)
    off_x = box_cx * math.cos(rad) - box_cy * math.sin(rad)
    off_y = box_cx * math.sin(rad) + box_cy * math.cos(rad)
    left = int(round(centre[0] - size / 2 - off_x))
    top = int(round(centre[1] - size / 2 - off_y))
    region = frame[top:top + size, left:left + size].astype(np.float32)
    alpha = mask[:, :, None]
    frame[top:top + size, left:left + size] = np.clip(alpha * face + (1 - alpha) * region, 0, 255).astype(np.uint8)
    box_w = face_side
    box_h = face_side * (fy1 - fy0) / (fx1 - fx0)
    return (centre[0] - box_w / 2, centre[1] - box_h / 2, box_w, box_h)


def _lighting(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a global gain and a left-right or top-bottom light gradient."""
    height, width = frame.shape[:2]
    gain = rng.uniform(0.55, 1.3)
    ramp = np.linspace(1.0 - rng.uniform(0, 0.35), 1.0, width if rng.random() < 0.5 else height, dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    field = ramp[None, :] if len(ramp) == width else ramp[:, None]
    return np.clip(frame.astype(np.float32) * (gain * field)[:, :, None], 0, 255).astype(np.uint8)


def synthetic_frames(num_frames: int, seed: int = 9, faces_per_frame: tuple[int, int] = (3, 6),
                     anchor_dir: Path = SHARED_ANCHOR_DIR, source: str = "utkface",
                     sides: tuple[float, float] = (16, 160)) -> list[LabelledFrame]:
    """Frames with ``source``'s faces (FACE_SOURCES) of ``sides`` px at known boxes (seeded, reproducible)."""
    rng = np.random.default_rng(seed)
    pool = backgrounds(anchor_dir)
    load, face_box = FACE_SOURCES[source]
    crops = load(num_frames * faces_per_frame[1], seed)
    # Room for the whole chip (larger than its face) inside the frame.
    room = max(0.8, 0.5 / (face_box[2] - face_box[0]) + 0.15)
    width, height = FRAME_SIZE
    frames = []
    crop_index = 0
    for index in range(num_frames):
        name, image = pool[index % len(pool)]
        frame = image.copy() if rng.random() < 0.5 else cv2.flip(image, 1)
        boxes: list[tuple[float, float, float, float]] = []
        wanted = int(rng.integers(faces_per_frame[0], faces_per_frame[1] + 1))
        for _ in range(wanted * 20):  # placement tries
            if len(boxes) == wanted:
                break
            side = float(math.exp(rng.uniform(math.log(sides[0]), math.log(sides[1]))))
            margin = side * room
            cx = rng.uniform(margin, width - margin)
            cy = rng.uniform(margin, height - margin)
            if any(abs(cx - (bx + bw / 2)) < (side + bw) * 0.8 and abs(cy - (by + bh / 2)) < (side + bh) * 0.8
                   for bx, by, bw, bh in boxes):
                continue
            boxes.append(_paste_face(frame, crops[crop_index % len(crops)], (cx, cy), side,
                                     rng.uniform(-15, 15), rng.uniform(0.6, 1.3), rng.uniform(0.7, 1.2), face_box))
            crop_index += 1
        frames.append(LabelledFrame(_lighting(frame, rng), boxes, f"synthetic {source} {index} on {name}"))
    return frames


def anchor_photo(anchor_dir: Path = SHARED_ANCHOR_DIR) -> tuple[np.ndarray, list[list[float]]] | None:
    photo = cv2.imread(str(anchor_dir / "test_image.jpg"))
    if photo is None:
        return None
    return photo, json.loads(LABELS_FILE.read_text())["faces"]


def size_bin(side: float) -> str:
    for low, high in zip(SIZE_BINS, SIZE_BINS[1:]):
        if low <= side < high:
            return f"{low}-{high - 1}"
    return "<16" if side < SIZE_BINS[0] else f">={SIZE_BINS[-1]}"


def match(detections: Sequence[Sequence[float]], truths: Sequence[Sequence[float]],
          min_iou: float = 0.5) -> tuple[list[bool], list[bool]]:
    """Greedy one-to-one matching by IoU: (truth found?, detection true?) flags."""
    from face_perception.detection.detection import box_iou

    pairs = sorted(((box_iou(d, t), di, ti) for di, d in enumerate(detections) for ti, t in enumerate(truths)),
                   reverse=True)
    found, correct = [False] * len(truths), [False] * len(detections)
    for iou, di, ti in pairs:
        if iou < min_iou:
            break
        if not found[ti] and not correct[di]:
            found[ti], correct[di] = True, True
    return found, correct


def photo_reference_boxes(photo: np.ndarray) -> list[list[float]]:
    """Return YuNet's and BlazeFace's faces (x, y, w, h) in ``photo`` at its full resolution, merged."""
    from face_perception.detection.detection import box_iou
    from face_perception.detection.detectors import create_detector
    from face_perception.detection.yunet import load_model, shipped_model_path
    from face_perception.parameters import PipelineConfig

    height, width = photo.shape[:2]
    _, faces = load_model(shipped_model_path(), width, height, REFERENCE_MIN_SCORE, 0.3).detect(photo)
    boxes = [] if faces is None else [[float(v) for v in row[:4]] for row in faces]
    tiled = create_detector(PipelineConfig.from_mapping(
        {"detection.backend": "blazeface", "detection.blazeface_tiles": 2}).detection)
    for found in tiled.detect(photo):
        if all(box_iou(found.box, box) < 0.3 for box in boxes):
            boxes.append([float(v) for v in found.box])
    return boxes


def photo_frames(frame_size: tuple[int, int] = FRAME_SIZE, anchor_dir: Path = SHARED_ANCHOR_DIR,
                 shrinks: Sequence[float] = PHOTO_SHRINKS) -> list[LabelledFrame]:
    """
    Each anchor photo fitted into a ``frame_size`` frame and shrunk by each of ``shrinks`` inside it.

    Centred on a mid-grey frame; reference boxes from :func:`photo_reference_boxes`, scaled alike.
    """
    frames = []
    width, height = frame_size
    for path in sorted(anchor_dir.glob("*.jpg")):
        photo = cv2.imread(str(path))
        if photo is None:
            continue
        labelled = anchor_photo(anchor_dir) if path.name == "test_image.jpg" else None
        reference = labelled[1] if labelled is not None else photo_reference_boxes(photo)
        fit = min(width / photo.shape[1], height / photo.shape[0])
        for shrink in shrinks:
            scale = fit * shrink
            size = (max(1, round(photo.shape[1] * scale)), max(1, round(photo.shape[0] * scale)))
            frame = np.full((height, width, 3), 128, np.uint8)
            x0, y0 = (width - size[0]) // 2, (height - size[1]) // 2
            frame[y0:y0 + size[1], x0:x0 + size[0]] = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
            boxes = [(x * scale + x0, y * scale + y0, w * scale, h * scale) for x, y, w, h in reference]
            frames.append(LabelledFrame(frame, boxes, f"{path.name} x{shrink:g} in {width}x{height}"))
    return frames
