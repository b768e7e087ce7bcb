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
Face identity through the pipeline: real dlib descriptors of real LFW photos, a real database.

The same person in a different photo is the same person id; another person is not; a face
returning after its track was dropped continues its track id; a restart keeps the persons;
a corrupt database turns identity off with the reason and the pipeline runs on.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from face_perception.identity.face_embedding import align_chip, CHIP_TEMPLATE, DlibFaceEmbedder, \
    similarity_transform
from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline
from identity_frames import frame_with, lfw_photos, needs_lfw, settle


def identity_config(database, **overrides) -> PipelineConfig:
    return PipelineConfig.from_mapping({"identity.enabled": True, "identity.database": str(database),
                                        **overrides})


@pytest.fixture(scope="module")
def photos():
    return lfw_photos()


def test_similarity_transform_recovers_a_known_one():
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = CHIP_TEMPLATE
    target = source @ rotation.T + shift
    np.testing.assert_allclose(similarity_transform(source, target), np.hstack([rotation, shift[:, None]]),
                               atol=1e-9)
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((4, 2)), target)


@pytest.mark.data
@needs_lfw
def test_the_chip_puts_the_keypoints_on_the_template(photos):
    # A chip cut from keypoints placed at the template, shifted and scaled, is that region.
    image = np.tile(np.arange(300, dtype=np.uint8)[None, :, None], (300, 1, 3))
    keypoints = CHIP_TEMPLATE * 1.5 + 20.0
    chip = align_chip(image, keypoints)
    assert chip.shape == (150, 150, 3)
    # Column c of the chip is image column 20 + 1.5 c (a grey ramp: value = column).
    np.testing.assert_allclose(chip[75, [0, 100], 0], [20, 170], atol=1.5)
    with pytest.raises(ValueError):
        align_chip(image, [(1.0, 2.0)])
    descriptor = DlibFaceEmbedder().embed([chip])
    assert descriptor.shape == (1, 128) and np.isfinite(descriptor).all()


@pytest.mark.data
@needs_lfw
def test_same_person_same_id_other_person_new_id_and_rejoin(tmp_path, photos):
    pipeline = FacePerceptionPipeline(identity_config(tmp_path / "p.db", **{"tracking.max_missed_frames": 2}))
    try:
        assert pipeline.identity_problem == ""
        first = settle(pipeline, frame_with([(photos["A"][0], 100, 120)]))
        assert len(first) == 1 and first[0].person is not None and first[0].person.new
        person_a, track_a = first[0].person.person_id, first[0].track_id
        empty = frame_with([])
        for _ in range(4):  # the track is dropped
            pipeline.process(empty)
        assert track_a not in pipeline.tracker.tracks and not pipeline.process(empty).faces
        # The other photo of A, elsewhere in the frame: a new track that is recognised, and
        # continues A's track (within identity.rejoin_gap).
        again = settle(pipeline, frame_with([(photos["A"][1], 380, 200)]))
        assert again[0].person.person_id == person_a and not again[0].person.new
        assert again[0].person.confidence > 0.5
        assert again[0].track_id == track_a
        # B and C beside A: new persons of their own.
        both = settle(pipeline, frame_with([(photos["A"][1], 20, 120), (photos["B"][0], 400, 120)]))
        both += settle(pipeline, frame_with([(photos["C"][0], 200, 120)]))
        ids = {face.person.person_id for face in both}
        assert len(ids) == 3 and person_a in ids
    finally:
        pipeline.close()
    # A restart: the persons are in the file.
    restarted = FacePerceptionPipeline(identity_config(tmp_path / "p.db"))
    try:
        faces = settle(restarted, frame_with([(photos["C"][1], 200, 100)]))
        names = {p.person_id for p in restarted.identity.persons()}
        assert faces[0].person.person_id in names and not faces[0].person.new
        assert faces[0].person.person_id != person_a
        assert len(names) == 3
    finally:
        restarted.close()


@pytest.mark.data
@needs_lfw
def test_a_corrupt_database_turns_identity_off_and_the_pipeline_runs(tmp_path, photos):
    database = tmp_path / "p.db"
    database.write_bytes(b"garbage" * 1000)
    pipeline = FacePerceptionPipeline(identity_config(database))
    try:
        assert "identity is off" in pipeline.identity_problem and str(database) in pipeline.identity_problem
        faces = pipeline.process(frame_with([(photos["A"][0], 100, 120)])).faces
        assert len(faces) == 1 and faces[0].person is None
    finally:
        pipeline.close()
    assert database.read_bytes() == b"garbage" * 1000  # nothing written over it


@pytest.mark.data
@needs_lfw
def test_two_cameras_on_one_database_share_persons(tmp_path, photos):
    head, base = (FacePerceptionPipeline(identity_config(tmp_path / "p.db")) for _ in range(2))
    try:
        seen_by_head = settle(head, frame_with([(photos["A"][0], 100, 120)]))[0].person
        # The other camera, another photo: the person the first camera stored.
        seen_by_base = settle(base, frame_with([(photos["A"][1], 300, 150)]))[0].person
        assert seen_by_head.new and not seen_by_base.new
        assert seen_by_base.person_id == seen_by_head.person_id
        # A name given through one camera's database connection reaches the other.
        head.identity.set_name(seen_by_head.person_id, "Colin")
        base.identity.matcher.refresh()
        assert base.identity.matcher.gallery.names[seen_by_head.person_id] == "Colin"
    finally:
        head.close()
        base.close()


@pytest.mark.data
@needs_lfw
def test_a_name_shows_at_once_and_a_forgotten_person_leaves_the_track(tmp_path, photos):
    pipeline = FacePerceptionPipeline(identity_config(tmp_path / "p.db"))
    try:
        frame = frame_with([(photos["B"][0], 100, 120)])
        person = settle(pipeline, frame)[0].person.person_id
        assert pipeline.identity.set_name(person, "Serena")
        assert pipeline.process(frame).faces[0].person.name == "Serena"
        assert pipeline.identity.forget(person) and pipeline.identity.persons() == []
        result = pipeline.process(frame)
        assert result.faces[0].person is None and result.live_persons == {}
    finally:
        pipeline.close()


@pytest.mark.data
@needs_lfw
def test_threshold_changes_apply_live(tmp_path, photos):
    config = identity_config(tmp_path / "p.db")
    pipeline = FacePerceptionPipeline(config)
    try:
        pipeline.reconfigure(config.with_updates({"identity.match_threshold": 0.3, "identity.refresh_interval": 1.0}))
        assert pipeline.identity.matcher.threshold == 0.3 and pipeline.identity.config.refresh_interval == 1.0
    finally:
        pipeline.close()


def test_anonymous_persons_past_retention_are_forgotten_named_ones_kept(tmp_path):
    from face_perception.identity.persons_db import PersonStore

    store = PersonStore(tmp_path / "p.db", DlibFaceEmbedder.name)
    long_ago = time.time() - 3600.0
    gone = store.add_person(np.ones(128, np.float32), long_ago)
    named = store.add_person(np.zeros(128, np.float32), long_ago, name="Grace")
    recent = store.add_person(np.full(128, 0.5, np.float32), time.time())
    pipeline = FacePerceptionPipeline(identity_config(tmp_path / "p.db", **{"identity.anonymous_retention": 600.0}))
    try:
        assert {p.person_id for p in pipeline.identity.persons()} == {named, recent}
        assert gone not in pipeline.identity.known_person_ids()
    finally:
        pipeline.close()


def test_the_worker_thread_yields_the_cpu_to_the_frame_thread(tmp_path):
    import os

    pipeline = FacePerceptionPipeline(identity_config(tmp_path / "p.db"))
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert pipeline.identity.wait_idle(5.0)
        worker = os.getpriority(os.PRIO_PROCESS, pipeline.identity._thread.native_id)
        assert worker == min(19, ours + 10)
    finally:
        pipeline.close()


def test_identity_is_off_by_default():
    assert PipelineConfig.defaults().identity.enabled is False
