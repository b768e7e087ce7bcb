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
Faces of many origins for identity: FairFace and UTKFace by origin group, LFW's people, descriptors cached.

FairFace validation (7 race groups, all ages) and UTKFace (5 race groups, adults sampled) have
one photo per person, so every pair within a group is an impostor pair; LFW's people with
several photos give the genuine pairs. Each origin group is split in two by photo, seeded
(:data:`ORIGIN_SPLIT_SEED`): validation to choose the rule, test to report it; LFW keeps its
seed-28 split by person (identity_lfw). Every face goes through the node's own path: the
default Haar detector with the BlazeFace keypoint pass, ``align_chip`` and dlib's descriptor;
descriptors and quality are cached in ``build/cache/identity`` (ignored by git, never
committed) so a rerun embeds only new faces.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
import io
from pathlib import Path
import random
import re
import tarfile
import time

import cv2
import numpy as np

from face_perception.identity.identity_quality import face_quality
from identity_lfw import limit_images, split_people
from training.paths import DEFAULT_FAIRFACE, DEFAULT_LFW, DEFAULT_UTKFACE

FAIRFACE_TAR = DEFAULT_FAIRFACE
UTKFACE_TAR = DEFAULT_UTKFACE
CACHE = Path(__file__).resolve().parents[1] / "build" / "cache" / "identity"
ORIGIN_SPLIT_SEED = 35
UTKFACE_RACES = ("White", "Black", "Asian", "Indian", "Others")
# Photos of one person that the sets list as two people, found among the nearest impostor
# pairs and checked by eye: counted as one person (a genuine pair), not as an impostor pair.
SAME_PERSON = {
    "fairface_val/10432.jpg": "fairface_val/3018.jpg",  # the same photo, twice
    "UTKFace/22_1_4_20170117193954085.jpg.chip.jpg": "UTKFace/23_1_4_20170117194315659.jpg.chip.jpg",
}
# FairFace's age groups under 10: children are counted as a group of their own (all origins).
CHILD_AGES = ("0-2", "3-9")
_UTK_NAME = re.compile(r"UTKFace/(\d+)_([01])_([0-4])_\d+\.jpg\.chip\.jpg$")


@dataclass(frozen=True)
class Face:
    """One photo: where it is, whose it is, and the group it is counted in."""

    source: str  # "fairface", "utkface" or "lfw"
    path: str  # member name in the source's tar
    person: str  # the photo's path for one-photo-per-person sets
    group: str  # origin group ("lfw" for LFW)
    age: str  # FairFace's age group or UTKFace's years; "" for LFW

    @property
    def key(self) -> str:
        return f"{self.source}:{self.path}"

    @property
    def report_group(self) -> str:
        """Return the group a face's pairs are counted in: source/origin, children (under 10) apart."""
        if self.source == "lfw":
            return "lfw"
        return f"{self.source}/children 0-9" if self.age in CHILD_AGES else f"{self.source}/{self.group}"


def fairface_faces(tar_path: Path = FAIRFACE_TAR) -> list[Face]:
    with tarfile.open(tar_path) as tar:
        labels = tar.extractfile("fairface_val/labels.csv")
        assert labels is not None
        rows = list(csv.DictReader(io.TextIOWrapper(labels, encoding="utf-8")))
    return [Face("fairface", r["path"], SAME_PERSON.get(r["path"], r["path"]), r["race"], r["age"]) for r in rows]


def utkface_faces(per_group: int, min_age: int = 18, tar_path: Path = UTKFACE_TAR,
                  seed: int = ORIGIN_SPLIT_SEED) -> list[Face]:
    """Return ``per_group`` faces of each UTKFace race aged ``min_age`` or more, a seeded sample."""
    by_group: dict[str, list[Face]] = {}
    with tarfile.open(tar_path) as tar:
        for name in tar.getnames():
            match = _UTK_NAME.search(name)
            if match and int(match.group(1)) >= min_age:
                group = UTKFACE_RACES[int(match.group(3))]
                by_group.setdefault(group, []).append(
                    Face("utkface", name, SAME_PERSON.get(name, name), group, match.group(1)))
    chosen: list[Face] = []
    for group in UTKFACE_RACES:
        faces = sorted(by_group.get(group, []), key=lambda f: f.path)
        random.Random(f"{seed}:{group}").shuffle(faces)
        chosen += faces[:per_group]
    return chosen


def lfw_faces(people_val: int, people_test: int, per_person: int) -> tuple[list[Face], list[Face]]:
    """LFW people with >= 2 photos, seed-28 split by person: (validation, test) faces."""
    with tarfile.open(DEFAULT_LFW) as tar:
        validation, test = split_people(tar)
    return tuple([Face("lfw", path, person, "lfw", "") for person, paths in
                  limit_images(people, count, per_person).items() for path in paths]
                 for people, count in ((validation, people_val), (test, people_test)))


def split_by_group(faces: list[Face], seed: int = ORIGIN_SPLIT_SEED) -> tuple[list[Face], list[Face]]:
    """Halve each group's faces (one photo per person: a split by person), seeded; (validation, test)."""
    validation: list[Face] = []
    test: list[Face] = []
    groups = sorted({f.group for f in faces})
    for group in groups:
        members = sorted((f for f in faces if f.group == group), key=lambda f: f.path)
        random.Random(f"{seed}:{group}").shuffle(members)
        half = len(members) // 2
        validation += members[:half]
        test += members[half:]
    return validation, test


def camera_view(source: str, bgr: np.ndarray) -> np.ndarray:
    """
    Return the photo as the node's detector should see it: with context around tight crops, at camera scale.

    FairFace's crops are padded (edge pixels repeated) so Haar sees the whole head; UTKFace's
    100 px chips are padded and doubled; LFW's 112 px photos are doubled, as the frame tests paste them.
    """
    if source == "lfw":
        return cv2.resize(bgr, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    pad = bgr.shape[0] // 4
    padded = cv2.copyMakeBorder(bgr, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    if source == "utkface":
        return cv2.resize(padded, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    return padded


def tar_of(source: str) -> Path:
    return {"fairface": FAIRFACE_TAR, "utkface": UTKFACE_TAR, "lfw": DEFAULT_LFW}[source]


def read_photos(faces: list[Face]) -> dict[str, np.ndarray]:
    """Face key -> BGR photo, read in each tar's member order (gzip streams are read once)."""
    photos: dict[str, np.ndarray] = {}
    for source in sorted({f.source for f in faces}):
        wanted = {f.path for f in faces if f.source == source}
        with tarfile.open(tar_of(source)) as tar:
            for member in tar:
                if member.name in wanted:
                    data = tar.extractfile(member)
                    assert data is not None, member.name
                    image = cv2.imdecode(np.frombuffer(data.read(), np.uint8), cv2.IMREAD_COLOR)
                    if image is None:
                        raise ValueError(f"cannot decode {member.name} in {tar_of(source)}")
                    photos[f"{source}:{member.name}"] = image
    return photos


class DescriptorCache:
    """Face key -> (descriptor, quality) through the node's path; NaN rows where no face was found."""

    def __init__(self, method: str = "haar", folder: Path = CACHE) -> None:
        self.method = method
        self.path = folder / f"descriptors_{method}.npz"
        self.entries: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.path.is_file():
            stored = np.load(self.path)
            for key, vector, quality in zip(stored["keys"], stored["vectors"], stored["quality"]):
                self.entries[str(key)] = (vector, quality)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self.entries)
        np.savez(self.path.with_suffix(".tmp.npz"), keys=np.array(keys),
                 vectors=np.array([self.entries[k][0] for k in keys], np.float32).reshape(len(keys), -1),
                 quality=np.array([self.entries[k][1] for k in keys], np.float32).reshape(len(keys), -1))
        self.path.with_suffix(".tmp.npz").replace(self.path)

    def fill(self, faces: list[Face], save_every: int = 200) -> None:
        """Embed every face not cached yet (Haar + BlazeFace keypoints, align_chip, dlib)."""
        missing = [f for f in faces if f.key not in self.entries]
        if not missing:
            return
        from evaluate_identity import Aligners
        from face_perception.identity.face_embedding import DlibFaceEmbedder

        aligners, embedder = Aligners(), DlibFaceEmbedder()
        photos = read_photos(missing)
        start = time.process_time()
        for done, face in enumerate(missing, 1):
            found = aligners.chip_and_keypoints(self.method, camera_view(face.source, photos[face.key]))
            if found is None:
                self.entries[face.key] = (np.full(128, np.nan, np.float32), np.full(3, np.nan, np.float32))
            else:
                chip, keypoints = found
                quality = face_quality(keypoints, chip)
                self.entries[face.key] = (embedder.embed([chip])[0], np.array(
                    [quality.eye_distance, quality.turn, quality.sharpness], np.float32))
            if done % save_every == 0:
                self.save()
                print(f"{done}/{len(missing)} faces, {(time.process_time() - start) / done * 1000:.0f} ms CPU each",
                      flush=True)
        self.save()

    def arrays(self, faces: list[Face]) -> tuple[list[Face], np.ndarray, np.ndarray]:
        """Return (the faces found, their descriptors, their quality rows: eye distance, turn, sharpness)."""
        found = [f for f in faces if f.key in self.entries and np.isfinite(self.entries[f.key][0]).all()]
        vectors = np.array([self.entries[f.key][0] for f in found], np.float32).reshape(len(found), -1)
        quality = np.array([self.entries[f.key][1] for f in found], np.float32).reshape(len(found), 3)
        return found, vectors, quality
