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
Identity through the node's pipeline on camera frames: whether people keep, and do not share, person ids.

Each person's first photo is pasted into a 640x480 frame (at a place that changes per person)
and shown until the track has a person (or 8 frames), the frame then empties until the track
is dropped; after every first visit, each person returns at another place. One database per
group, the node's defaults (Haar with the BlazeFace keypoint pass, the identity.* rule) except
identity.evidence_interval 0 (a static photo gives the same descriptor on every frame; waiting
0.3 s between them would only slow the run) and identity.rejoin_gap 0.
--set lfw: LFW test people (seed-28 split) with >= 2 photos, returning in their second photo:
real returns (another day, pose, light, expression). --set fairface / utkface: the test half
of each origin group (identity_origins, seed 35; FairFace's children under 10 as a group of
their own), one photo per person, so the return is an
**augmented view of the same photo** (rescaled, relit, rotated in the image plane, blurred;
no change of pose, expression or day): it tests that strangers stay apart in every group and
that the rule does not lose a face it has just seen, not recognition across real returns.
Rates: a first visit created a new person rather than matching someone seen before
(different people, different ids); a first visit left undecided (near two people) is counted
apart; a returning person got their own person id back; a return matched someone else.
Run: nice -n 15 .venv/bin/python scripts/measurements/evaluate_identity_frames.py [--set lfw --people 150]
Writes out/identity_frames_<set>.json.
"""
from __future__ import annotations

import argparse
import random
import sys
import tarfile
import tempfile

import cv2
import numpy as np

from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline
from identity_lfw import split_people, write_report
from identity_origins import camera_view, fairface_faces, ORIGIN_SPLIT_SEED, read_photos, split_by_group, \
    utkface_faces
from training.data.loaders.lfw import read_photo
from training.paths import DEFAULT_LFW

PLACES = [(60, 60), (360, 40), (200, 200), (400, 220), (40, 240)]
EMPTY_FRAMES = 8  # > tracking.max_missed_frames: the track is dropped
MAX_FRAMES_PER_VISIT = 8


def frame_with(photo: np.ndarray, place: tuple[int, int], side: int = 224) -> np.ndarray:
    frame = np.full((480, 640, 3), 110, np.uint8)
    x, y = place
    side = min(side, 480 - y, 640 - x)
    frame[y:y + side, x:x + side] = cv2.resize(photo, (side, side), interpolation=cv2.INTER_CUBIC)
    return frame


def augmented_view(photo: np.ndarray, rng: random.Random) -> tuple[np.ndarray, int]:
    """Return the same photo relit, rotated in-plane and blurred, and a new pasted side (a rescale)."""
    height, width = photo.shape[:2]
    angle = rng.uniform(-8.0, 8.0)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    view = cv2.warpAffine(photo, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    gain, bias = rng.uniform(0.7, 1.3), rng.uniform(-25.0, 25.0)
    view = np.clip(view.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.3:
        view = cv2.GaussianBlur(view, (0, 0), sigma)
    return view, int(round(224 * rng.uniform(0.8, 1.15)))


def visit(pipeline: FacePerceptionPipeline, frame: np.ndarray) -> tuple[bool, str | None]:
    """Show a face until its track has a person; return (a face was found, its person id or None)."""
    found, person = False, None
    for _ in range(MAX_FRAMES_PER_VISIT):
        pipeline.process(frame)
        pipeline.wait_for_identity(30.0)
        faces = pipeline.process(frame).faces
        found = found or bool(faces)
        if faces and faces[0].person is not None:
            person = faces[0].person.person_id
            break
    empty = np.full_like(frame, 110)
    for _ in range(EMPTY_FRAMES):
        pipeline.process(empty)
    return found, person


def run_group(people: list[tuple[str, np.ndarray, np.ndarray, int]], config: PipelineConfig) -> dict:
    """First visits then returns of ``people`` (name, first photo, return photo, return side), one database."""
    with tempfile.TemporaryDirectory() as folder:
        config = config.with_updates({"identity.database": f"{folder}/p.db"})
        pipeline = FacePerceptionPipeline(config)
        first: dict[str, str | None] = {}
        seen: set[str] = set()
        found = new_person = undecided = 0
        for index, (person, photo, _, _) in enumerate(people):
            face, first[person] = visit(pipeline, frame_with(photo, PLACES[index % len(PLACES)]))
            found += face
            if face and first[person] is None:
                undecided += 1
            elif first[person] is not None:
                new_person += first[person] not in seen
                seen.add(first[person])
        same = wrong = returns = 0
        owners = {pid for pid in first.values() if pid is not None}
        for index, (person, _, photo, side) in enumerate(people):
            if first[person] is None:
                continue
            face, returned = visit(pipeline, frame_with(photo, PLACES[(index + 2) % len(PLACES)], side))
            returns += face
            same += returned is not None and returned == first[person]
            wrong += returned is not None and returned != first[person] and returned in owners
        stored = len(pipeline.identity.persons())
        pipeline.close()
    decided = found - undecided
    return {
        "people": len(people), "first_visits_with_a_face": found, "first_visits_undecided": undecided,
        "different_people_different_ids": new_person / max(1, decided),
        "first_visits_kept_apart": (new_person + undecided) / max(1, found),
        "returns_with_a_face": returns,
        "same_person_same_id": same / max(1, returns),
        "returned_as_someone_else": wrong / max(1, returns),
        "returned_as_a_new_person_or_undecided": (returns - same - wrong) / max(1, returns),
        "persons_stored": stored,
    }


def lfw_people(count: int) -> dict[str, list]:
    with tarfile.open(DEFAULT_LFW) as tar:
        _, test = split_people(tar)
        return {"lfw": [(person, read_photo(tar, paths[0]), read_photo(tar, paths[1]), 224)
                        for person, paths in list(test.items())[:count]]}


def origin_people(source: str, per_group: int) -> dict[str, list]:
    faces = fairface_faces() if source == "fairface" else utkface_faces(200)
    _, test = split_by_group(faces)
    groups: dict[str, list] = {}
    for face in test:
        if len(groups.setdefault(face.report_group, [])) < per_group:
            groups[face.report_group].append(face)
    photos = read_photos([f for members in groups.values() for f in members])
    rng = random.Random(ORIGIN_SPLIT_SEED)
    out: dict[str, list] = {}
    for group, members in sorted(groups.items()):
        for face in members:
            # Tight crops get the context the node's detector needs (identity_origins.camera_view).
            photo = camera_view(face.source, photos[face.key])
            out.setdefault(group, []).append((face.path, photo, *augmented_view(photo, rng)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--set", choices=("lfw", "fairface", "utkface"), default="lfw")
    parser.add_argument("--people", type=int, default=150, help="LFW people, or people per origin group")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    groups = lfw_people(args.people) if args.set == "lfw" else origin_people(args.set, args.people)
    config = PipelineConfig.from_mapping({"identity.enabled": True, "identity.rejoin_gap": 0.0,
                                          "identity.evidence_interval": 0.0})
    report = {"set": args.set, "identity": {k: v for k, v in config.to_mapping().items()
                                            if k.startswith("identity.") and k != "identity.database"},
              "groups": {}}
    for group, people in groups.items():
        report["groups"][group] = run_group(people, config)
        print(group, report["groups"][group], flush=True)
    write_report(args.out or f"out/identity_frames_{args.set}.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
