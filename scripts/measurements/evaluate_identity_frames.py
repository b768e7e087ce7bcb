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

LFW test people (seed 28 split) with >= 2 photos: each person's first photo is pasted into a
640x480 frame (at a place that changes per person) and shown until the identity worker has
matched it; the frame then empties until the track is dropped; later, after every person's
first visit, each returns in their second photo at another place. One database, the node's
defaults (Haar with the BlazeFace keypoint pass, identity.match_threshold), as the node runs.
Rates: a returning person got their own person id back (same person, same id); a first visit
created a new person rather than matching someone seen before (different people, different
ids); a return matched someone else (wrong person).
Run: nice -n 15 .venv/bin/python scripts/measurements/evaluate_identity_frames.py [--people 150]
Writes out/identity_frames.json.
"""
from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile

import cv2
import numpy as np

from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline
from identity_lfw import split_people, write_report
from training.data.loaders.lfw import read_photo
from training.paths import DEFAULT_LFW

PLACES = [(60, 60), (360, 40), (200, 200), (400, 220), (40, 240)]
EMPTY_FRAMES = 8  # > tracking.max_missed_frames: the track is dropped


def frame_with(photo: np.ndarray, place: tuple[int, int]) -> np.ndarray:
    frame = np.full((480, 640, 3), 110, np.uint8)
    x, y = place
    frame[y:y + 224, x:x + 224] = cv2.resize(photo, (224, 224), interpolation=cv2.INTER_CUBIC)
    return frame


def visit(pipeline: FacePerceptionPipeline, frame: np.ndarray) -> str | None:
    """Show a face until the worker has matched it; return its person id (None: no face found)."""
    for _ in range(3):
        pipeline.process(frame)
    pipeline.wait_for_identity(30.0)
    faces = pipeline.process(frame).faces
    empty = np.full_like(frame, 110)
    for _ in range(EMPTY_FRAMES):
        pipeline.process(empty)
    return faces[0].person.person_id if faces and faces[0].person is not None else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--out", default="out/identity_frames.json")
    args = parser.parse_args()
    with tarfile.open(DEFAULT_LFW) as tar:
        _, test = split_people(tar)
        people = list(test.items())[: args.people]
        photos = {person: (read_photo(tar, paths[0]), read_photo(tar, paths[1])) for person, paths in people}
    with tempfile.TemporaryDirectory() as folder:
        config = PipelineConfig.from_mapping({"identity.enabled": True, "identity.database": f"{folder}/p.db",
                                              "identity.rejoin_gap": 0.0})
        pipeline = FacePerceptionPipeline(config)
        first: dict[str, str | None] = {}
        seen: set[str] = set()
        new_person = 0
        for index, (person, (photo, _)) in enumerate(photos.items()):
            first[person] = visit(pipeline, frame_with(photo, PLACES[index % len(PLACES)]))
            if first[person] is not None:
                new_person += first[person] not in seen
                seen.add(first[person])
        same = wrong = unmatched = 0
        owners = {pid: p for p, pid in first.items() if pid is not None}
        for index, (person, (_, photo)) in enumerate(photos.items()):
            if first[person] is None:
                continue
            returned = visit(pipeline, frame_with(photo, PLACES[(index + 2) % len(PLACES)]))
            if returned is None:
                unmatched += 1
            elif returned == first[person]:
                same += 1
            elif returned in owners:
                wrong += 1
        stored = len(pipeline.identity.persons())
        pipeline.close()
    found = sum(pid is not None for pid in first.values())
    returns = found - unmatched
    report = {
        "people": len(photos), "first_visits_recognised": found,
        "different_people_different_ids": new_person / max(1, found),
        "returns_with_a_face": returns,
        "same_person_same_id": same / max(1, returns),
        "returned_as_someone_else": wrong / max(1, returns),
        "returned_as_a_new_person": (returns - same - wrong) / max(1, returns),
        "persons_stored": stored,
        "threshold": config.identity.match_threshold,
    }
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
