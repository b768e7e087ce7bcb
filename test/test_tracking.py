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

"""Tracking on real detections of synthetic sequences, and probability smoothing."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import make_face_frame
from face_perception.detection.haar import HaarFaceDetector
from face_perception.parameters import PipelineConfig
from face_perception.tracking.tracking import FaceTracker


def tracking_config(**overrides) -> PipelineConfig:
    return PipelineConfig.from_mapping({f"tracking.{name}": value for name, value in overrides.items()})


@pytest.fixture(scope="module")
def haar() -> HaarFaceDetector:
    return HaarFaceDetector(PipelineConfig.defaults().detection)


def detect(haar: HaarFaceDetector, faces: list[tuple[float, float, float]]) -> list[tuple[int, int, int, int]]:
    gray = cv2.cvtColor(make_face_frame(faces), cv2.COLOR_BGR2GRAY)
    return [d.box for d in haar.detect(gray)]


def ids_by_side(tracker: FaceTracker, boxes) -> dict[str, str]:
    """Track ids of the faces by where they are: 'left'/'right' (x) of the frame centre."""
    results = tracker.update(boxes)
    return {("left" if box[0] + box[2] / 2 < 320 else "right"): r.track_id for box, r in zip(boxes, results)}


def test_moving_faces_keep_their_ids(haar: HaarFaceDetector) -> None:
    tracker = FaceTracker(tracking_config().tracking)
    seen: list[dict[str, str]] = []
    for step in range(8):
        # Two faces drifting down and towards each other, 12 px per frame, growing a little.
        left = (130 + 12 * step, 150 + 6 * step, 90 + 2 * step)
        right = (500 - 12 * step, 170 + 6 * step, 100 + 2 * step)
        boxes = detect(haar, [left, right])
        assert len(boxes) == 2, f"frame {step}: {boxes}"
        seen.append(ids_by_side(tracker, boxes))
    assert all(frame == seen[0] for frame in seen), seen
    assert len(set(seen[0].values())) == 2
    assert all(track.age == 8 for track in tracker.tracks)


def test_crossing_faces_keep_their_ids(haar: HaarFaceDetector) -> None:
    """A passes behind B: hidden for a few frames, it must come back with its own id."""
    tracker = FaceTracker(tracking_config().tracking)
    frames = 14
    first_ids: dict[str, str] = {}
    hidden_frames = 0
    for step in range(frames):
        a_x = 120 + 400 * step / (frames - 1)  # left -> right, behind (pasted first)
        b_x = 520 - 400 * step / (frames - 1)  # right -> left, in front
        boxes = detect(haar, [(a_x, 200, 100), (b_x, 250, 100)])
        results = tracker.update(boxes)
        by_id = {r.track_id: box for r, box in zip(results, boxes)}
        if step == 0:
            assert len(boxes) == 2
            # A is the upper face (pasted 50 px higher), B the lower one.
            first_ids["a"] = min(by_id, key=lambda i: by_id[i][1])
            first_ids["b"] = max(by_id, key=lambda i: by_id[i][1])
            continue
        hidden_frames += len(boxes) < 2
        for name, true_x in (("a", a_x), ("b", b_x)):
            box = by_id.get(first_ids[name])
            if box is not None:  # wherever the id shows up, it is on its own face
                assert abs(box[0] + box[2] / 2 - true_x) < 30, (step, name, by_id)
        assert set(by_id) <= set(first_ids.values()), f"frame {step}: new id {by_id}"
    assert hidden_frames >= 2, "the sequence should really hide one face for a while"
    assert set(by_id) == set(first_ids.values())


def test_returning_face_gets_new_id_only_after_timeout(haar: HaarFaceDetector) -> None:
    tracker = FaceTracker(tracking_config(max_missed_frames=3).tracking)
    face = detect(haar, [(320, 240, 110)])
    assert len(face) == 1
    (first,) = tracker.update(face)
    for _ in range(3):  # gone for max_missed_frames frames: still the same person
        assert tracker.update([]) == []
    (back,) = tracker.update(face)
    assert back.track_id == first.track_id
    for _ in range(4):  # gone for longer: dropped
        tracker.update([])
    assert tracker.tracks == ()
    (later,) = tracker.update(face)
    assert later.track_id not in (first.track_id,)
    assert later.age == 1


def test_ids_are_never_reused() -> None:
    tracker = FaceTracker(tracking_config(max_missed_frames=0).tracking)
    seen = set()
    for step in range(6):
        # A face far from the previous one each frame, so every frame starts a new track.
        (result,) = tracker.update([(50 + 100 * step, 50, 60, 60)])
        assert result.track_id not in seen
        seen.add(result.track_id)
    tracker.reset()
    assert tracker.update([(50, 50, 60, 60)])[0].track_id not in seen


def run_observations(smoothing: float, vectors: list[list[float]]):
    tracker = FaceTracker(tracking_config(smoothing=smoothing).tracking)
    results = []
    for vector in vectors:
        (result,) = tracker.update([(100, 100, 80, 80)], [{"emotion": np.array(vector)}])
        results.append(result)
    return results


def test_smoothing_off_reports_raw_values() -> None:
    vectors = [[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]]
    for result, vector in zip(run_observations(1.0, vectors), vectors):
        np.testing.assert_allclose(result.smoothed["emotion"], vector)
        np.testing.assert_allclose(result.raw["emotion"], vector)


def test_exponential_smoothing_blends_with_history() -> None:
    vectors = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    results = run_observations(0.25, vectors)
    np.testing.assert_allclose(results[0].smoothed["emotion"], [1.0, 0.0, 0.0])  # first frame: raw
    np.testing.assert_allclose(results[1].smoothed["emotion"], [0.75, 0.25, 0.0])
    np.testing.assert_allclose(results[2].smoothed["emotion"], [0.5625, 0.4375, 0.0])
    np.testing.assert_allclose(results[2].raw["emotion"], [0.0, 1.0, 0.0])  # raw kept alongside
    assert results[2].smoothed["emotion"].sum() == pytest.approx(1.0)


def test_smoothing_restarts_with_a_new_track() -> None:
    tracker = FaceTracker(tracking_config(smoothing=0.5, max_missed_frames=0).tracking)
    tracker.update([(100, 100, 80, 80)], [{"gender": np.array([1.0, 0.0])}])
    tracker.update([])
    (fresh,) = tracker.update([(100, 100, 80, 80)], [{"gender": np.array([0.0, 1.0])}])
    np.testing.assert_allclose(fresh.smoothed["gender"], [0.0, 1.0])


def test_dropped_tracks_are_reported_and_a_new_track_can_continue_one() -> None:
    tracker = FaceTracker(tracking_config(max_missed_frames=1, smoothing=0.5).tracking)
    first = tracker.update([(10, 10, 50, 50)], [{"gender": np.array([0.9, 0.1])}])[0]
    assert tracker.dropped == ()
    tracker.update([])
    assert tracker.dropped == ()
    tracker.update([])
    assert [t.track_id for t in tracker.dropped] == [first.track_id]
    earlier = tracker.dropped[0]
    new = tracker.update([(300, 200, 50, 50)], [{"gender": np.array([0.1, 0.9])}])[0]
    assert new.track_id != first.track_id
    tracker.adopt(new.track_id, earlier)
    # The new face now carries the earlier id, its creation order, and smoothing resumed from it.
    continued = tracker.update([(302, 200, 50, 50)], [{"gender": np.array([0.1, 0.9])}])[0]
    assert continued.track_id == first.track_id and continued.serial == first.serial
    # adopt blended 0.5 * [0.1, 0.9] + 0.5 * [0.9, 0.1] = [0.5, 0.5]; this frame: 0.5 * 0.1 + 0.5 * 0.5.
    np.testing.assert_allclose(continued.smoothed["gender"], [0.3, 0.7])
    with pytest.raises(KeyError):
        tracker.adopt("face_999", earlier)
