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
The matching rule that keeps strangers apart: margin, evidence over a track, quality gate.

Descriptors here are plain vectors at chosen distances (the rule is geometry on them); the
real descriptor through the pipeline is test_identity.py's.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from face_perception.identity.identity_evidence import TrackEvidence
from face_perception.identity.identity_quality import face_quality, good_enough
from face_perception.identity.person_matching import PersonGallery, PersonMatcher, STRANGER, Vote
from face_perception.identity.persons_db import PersonStore


def at(distance: float, axis: int = 0, dimension: int = 128) -> np.ndarray:
    vector = np.zeros(dimension, np.float32)
    vector[axis] = distance
    return vector


@pytest.fixture
def matcher(tmp_path):
    store = PersonStore(tmp_path / "p.db", "test_model")
    yield PersonMatcher(store, threshold=0.4, margin=0.1)
    store.close()


def test_the_nearest_other_person_and_the_distance_to_one_person(tmp_path):
    gallery = PersonGallery()
    gallery.load(["a", "a", "b"], np.stack([at(0.0), at(1.0), at(2.0, 1)]), {"a": "", "b": ""})
    gallery.add("c", at(3.0, 2))
    probe = at(0.9)
    person, distance, second = gallery.nearest_two(probe)
    assert person == "a" and distance == pytest.approx(0.1, abs=1e-6)
    assert second == pytest.approx(np.hypot(0.9, 2.0), abs=1e-5)  # b, not a's other descriptor
    assert gallery.distance_to(probe, "c") == pytest.approx(np.hypot(0.9, 3.0), abs=1e-5)
    assert gallery.distance_to(probe, "nobody") == float("inf")
    alone = PersonGallery()
    alone.add("a", at(0.0))
    assert alone.nearest_two(probe)[2] == float("inf")


def test_a_vote_is_a_person_only_within_the_threshold_and_clear_of_everyone_else(matcher):
    assert matcher.vote(at(1.0)).person_id == STRANGER  # nobody stored yet
    first = matcher.create(at(0.0), 1.0).person_id
    assert matcher.vote(at(0.3)).person_id == first
    assert matcher.vote(at(0.5)).person_id == STRANGER  # beyond 0.4
    # A second person 0.6 from the first: a face midway is within 0.4 of both, 0 apart: undecided.
    second = matcher.create(at(0.6), 2.0).person_id
    midway = matcher.vote(at(0.3))
    assert midway.person_id is None and midway.distance == pytest.approx(0.3, abs=1e-6)
    assert matcher.vote(at(0.05)).person_id == first  # 0.05 against 0.55: clear
    assert matcher.vote(at(0.58)).person_id == second


def test_a_track_is_decided_only_when_enough_of_its_descriptors_agree():
    evidence = TrackEvidence(needed=2, window=3)
    vector = at(0.0)
    assert evidence.add(Vote("p1", 0.3, 1.0), vector) is None
    assert evidence.add(Vote(None, 0.2, 0.25), vector) is None  # undecided never counts
    assert evidence.add(Vote(STRANGER, 0.9, 1.0), vector) is None
    # The window holds the newest three: p1 fell out, so one more p1 is not enough...
    assert evidence.add(Vote("p1", 0.35, 1.0), vector) is None
    # ...and a second agreeing vote decides, keeping the nearer descriptor.
    nearer = at(1.0)
    answer, vote, best = evidence.add(Vote("p1", 0.25, 1.0), nearer)
    assert answer == "p1" and vote.distance == 0.25 and best is nearer
    stranger = TrackEvidence(needed=2, window=2)
    stranger.add(Vote(STRANGER, 0.8, 0.9), vector)
    assert stranger.add(Vote(STRANGER, 0.7, 0.9), vector)[0] == STRANGER
    assert TrackEvidence(needed=1, window=1).add(Vote("p2", 0.1, 0.9), vector)[0] == "p2"


def test_the_quality_gate_measures_size_turn_and_blur():
    rng = np.random.default_rng(0)
    chip = rng.integers(0, 255, (150, 150, 3), np.uint8)
    frontal = [(40.0, 50.0), (80.0, 50.0), (60.0, 70.0), (60.0, 90.0)]
    turned = [(40.0, 50.0), (80.0, 50.0), (72.0, 70.0), (66.0, 90.0)]
    sharp = face_quality(frontal, chip)
    assert sharp.eye_distance == pytest.approx(40.0) and sharp.turn == pytest.approx(0.0)
    assert face_quality(turned, chip).turn == pytest.approx(0.3)
    blurred = face_quality(frontal, cv2.GaussianBlur(chip, (0, 0), 3.0))
    assert blurred.sharpness < sharp.sharpness / 10
    assert good_enough(sharp, 30.0, 0.25, 100.0)
    assert not good_enough(sharp, 50.0, 0.25, 100.0)  # too small
    assert not good_enough(face_quality(turned, chip), 30.0, 0.25, 100.0)  # too turned
    assert not good_enough(blurred, 30.0, 0.25, sharp.sharpness / 2)  # too blurred
    assert not good_enough(face_quality([(5.0, 5.0)] * 4, chip), 0.0, 1.0, 0.0)  # no eye distance
