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
The YuNet backend, from the model file to the pipeline.

The shipped model on real photos, its keypoints on hand-marked points, small faces, region
search, a missing or corrupt model file, YuNet in the pipeline and the launch argument.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import data as skimage_data

from conftest import ASTRONAUT_FACE, make_face_frame, REPO_ROOT, shared_file
from face_perception.detection.detection import box_iou, KEYPOINT_NAMES
from face_perception.detection.detectors import create_detector
from face_perception.detection.yunet import shipped_model_path, YuNetDetector, YuNetLoadError
from face_perception.geometry import head_pose as hp
from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline

LANDMARKS = json.loads((REPO_ROOT / "test" / "data" / "astronaut_landmarks.json").read_text())["points"]
TEST_IMAGE_FACES = json.loads((REPO_ROOT / "test" / "data" / "test_image_faces.json").read_text())["faces"]


def yunet(**overrides) -> YuNetDetector:
    values = {"detection.backend": "yunet", **{f"detection.{name}": value for name, value in overrides.items()}}
    detector = create_detector(PipelineConfig.from_mapping(values).detection)
    assert isinstance(detector, YuNetDetector)
    return detector


def test_the_model_ships_in_the_package_with_its_licence() -> None:
    model = shipped_model_path()
    assert model.is_file() and model.stat().st_size == 232589
    assert "MIT License" in model.with_suffix(".LICENSE").read_text()
    assert "opencv_zoo" in model.with_suffix(".README.md").read_text()


# --- real photos -------------------------------------------------------------------------------
def test_astronaut_face_with_keypoints_on_the_hand_marked_points(astronaut_bgr: np.ndarray) -> None:
    (face,) = yunet().detect(astronaut_bgr)
    assert box_iou(face.box, ASTRONAUT_FACE) > 0.6, face.box
    assert 0.6 <= face.confidence <= 1.0
    points = dict(zip(KEYPOINT_NAMES, np.asarray(face.keypoints)))
    marked = {name: np.asarray(LANDMARKS[index]) for name, index in
              (("right_eye", "68"), ("left_eye", "69"), ("nose_tip", "30"))}
    marked["mouth_center"] = 0.5 * (np.asarray(LANDMARKS["48"]) + np.asarray(LANDMARKS["54"]))  # the corners
    eye_distance = float(np.hypot(*(marked["left_eye"] - marked["right_eye"])))
    for name, where in marked.items():
        off = float(np.hypot(*(points[name] - where))) / eye_distance
        assert off < 0.15, f"{name} {points[name]} is {off:.2f} eye distances from the marked {where}"
    # YuNet measures no ears: NaN, never a made-up point.
    assert np.isnan(points["right_ear_tragion"]).all() and np.isnan(points["left_ear_tragion"]).all()
    # A grey frame (a mono camera) finds the same face.
    (grey,) = yunet().detect(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY))
    assert box_iou(grey.box, face.box) > 0.8


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_face_free_images_have_no_faces(name: str) -> None:
    assert yunet().detect(cv2.cvtColor(getattr(skimage_data, name)(), cv2.COLOR_RGB2BGR)) == []


@pytest.mark.parametrize("width", [640, 320])
def test_far_faces_of_the_group_photo_in_a_camera_frame(width: int) -> None:
    # test_image.jpg (2048x1536) scaled to a camera frame: five people at 3-4 m are 27-34 px
    # wide at 640x480 and 14-17 px at 320x240; Haar finds none of them.
    photo = cv2.imread(str(shared_file("anchor", "test_image.jpg")))
    scale = width / photo.shape[1]
    frame = cv2.resize(photo, (width, round(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    faces = yunet().detect(frame)
    truths = [[v * scale for v in box] for box in TEST_IMAGE_FACES]
    for truth in truths:
        assert max((box_iou(d.box, truth) for d in faces), default=0.0) >= 0.5, (truth, [d.box for d in faces])
    assert len(faces) == len(truths)


def test_downscaled_frames_map_boxes_back(astronaut_bgr: np.ndarray) -> None:
    frame = cv2.resize(astronaut_bgr, (1024, 1024))
    (full,) = yunet().detect(frame)
    (small,) = yunet(yunet_max_width=512).detect(frame)
    assert box_iou(full.box, small.box) > 0.8, (full.box, small.box)
    assert np.nanmax(np.abs(np.subtract(full.keypoints, small.keypoints))) < 0.1 * full.w


# --- region search -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [24, 70, 160])
def test_region_search_finds_the_tracked_face_only(size: int) -> None:
    frame = make_face_frame([(160, 200, size), (480, 260, 90)])
    detector = yunet()
    left = min(detector.detect(frame), key=lambda d: d.x)
    assert abs(left.x + left.w / 2 - 160) < size / 2
    (region,) = detector.detect(frame, [left.box])
    assert box_iou(region.box, left.box) > 0.6
    assert np.nanmax(np.abs(np.subtract(region.keypoints, left.keypoints))) < 0.15 * left.w
    # A region whose face has left gives nothing; nor does a neighbour of another size.
    assert detector.detect(frame, [(300, 20, 60, 60)]) == []
    assert detector.detect(frame, [(470, 250, 20, 20)]) == []


# --- the model file ------------------------------------------------------------------------------
def test_missing_model_file_is_one_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(YuNetLoadError, match=f"{missing}.*does not exist.*detection.yunet_model"):
        yunet(yunet_model=str(missing))


def corrupt_models(folder: Path) -> list[Path]:
    """Write a truncated copy of the real model, random bytes and an empty file; return their paths."""
    model = shipped_model_path().read_bytes()
    files = {"truncated.onnx": model[: len(model) // 2], "random.onnx": np.random.default_rng(0).bytes(4096),
             "empty.onnx": b""}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def test_corrupt_model_files_are_one_error_naming_them(tmp_path: Path) -> None:
    # In a child process: a native crash inside OpenCV would otherwise take the test run with it.
    script = (
        "import sys\n"
        "from face_perception.detection.yunet import YuNetLoadError\n"
        "from conftest import REPO_ROOT\n"
        "from face_perception.detection.detectors import create_detector\n"
        "from face_perception.parameters import PipelineConfig\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        create_detector(PipelineConfig.from_mapping({'detection.backend': 'yunet',\n"
        "                                                     'detection.yunet_model': path}).detection)\n"
        "        print('LOADED', path)\n"
        "    except YuNetLoadError as error:\n"
        "        print('REFUSED', error)\n"
    )
    paths = corrupt_models(tmp_path)
    done = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT / "test")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(paths), done.stdout
    for path, line in zip(paths, lines):
        assert line.startswith(f"REFUSED YuNet model {path}") and "detection.yunet_model" in line, line


def test_node_refuses_to_start_on_a_corrupt_model_with_one_line(tmp_path: Path) -> None:
    corrupt = corrupt_models(tmp_path)[0]
    process = subprocess.run(
        [sys.executable, "-m", "face_perception.ros.perception_node", "--ros-args",
         "-p", "detection.backend:=yunet", "-p", f"detection.yunet_model:={corrupt}"],
        capture_output=True, text=True, timeout=120)
    output = process.stdout + process.stderr
    assert process.returncode == 1, output
    fatal = [line for line in output.splitlines() if "FATAL" in line]
    assert len(fatal) == 1 and str(corrupt) in fatal[0], output
    assert "Traceback" not in output


# --- in the pipeline -----------------------------------------------------------------------------
def test_pipeline_with_yunet_frames_keypoints_and_head_pose(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates(
        {"detection.backend": "yunet", "detection.redetect_interval": 3}))
    pipeline.measure_keypoints = True
    try:
        ids, full_flags = set(), []
        for step in range(6):
            frame = make_face_frame([(150 + 8 * step, 200, 30), (470 - 8 * step, 260, 110)])
            result = pipeline.process(frame)
            full_flags.append(result.full_detection)
            assert len(result.faces) == 2, f"frame {step}"
            ids.update(face.track_id for face in result.faces)
            for face in result.faces:
                keypoints = np.asarray(face.keypoints)
                assert np.isfinite(keypoints[:4]).all() and np.isnan(keypoints[4:]).all()
                assert set(face.outputs) >= {"gender", "emotion"}
        assert len(ids) == 2 and full_flags[:4] == [True, False, False, True]
    finally:
        pipeline.close()
    # The head pose fits the four measured points: the near face faces the camera.
    near = max(result.faces, key=lambda f: f.box[2])
    camera = hp.CameraModel.from_values([500.0, 0, 320, 0, 500.0, 240, 0, 0, 1], [0.0] * 5, "plumb_bob", 640, 480)
    pose = hp.estimate_head_pose(np.asarray(near.keypoints), camera)
    assert pose is not None
    yaw, pitch, _ = hp.yaw_pitch_roll(pose.rotation)
    assert abs(yaw) < 30 and abs(pitch) < 30
    assert 0.2 < pose.translation[2] < 2.0  # metres: a 110 px face at f = 500 px


def test_backend_switched_at_run_time_keeps_the_tracks(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config)
    frames = [make_face_frame([(180 + 6 * step, 220, 110), (470 - 6 * step, 250, 100)]) for step in range(6)]
    try:
        ids = {face.track_id for face in pipeline.process(frames[0]).faces}
        assert len(ids) == 2
        pipeline.reconfigure(pipeline.config.with_updates({"detection.backend": "yunet"}))
        assert isinstance(pipeline.detector, YuNetDetector)
        for frame in frames[1:3]:
            assert {face.track_id for face in pipeline.process(frame).faces} == ids
        # A broken model is refused and the running detector stays.
        with pytest.raises(YuNetLoadError):
            pipeline.reconfigure(pipeline.config.with_updates({"detection.yunet_model": "/nonexistent.onnx"}))
        assert isinstance(pipeline.detector, YuNetDetector)
        pipeline.reconfigure(pipeline.config.with_updates({"detection.backend": "haar"}))
        for frame in frames[3:]:
            assert {face.track_id for face in pipeline.process(frame).faces} == ids
    finally:
        pipeline.close()


def test_yunet_in_the_background_thread(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates(
        {"detection.backend": "yunet", "detection.background": True, "detection.redetect_interval": 2}))
    try:
        counts = []
        for step in range(5):
            result = pipeline.process(make_face_frame([(200 + 5 * step, 220, 40), (450, 260, 80)]))
            assert pipeline.wait_for_background_detection(10.0)
            counts.append(len(result.faces))
        assert counts[-1] == 2 and not math.isnan(result.faces[0].detection_confidence)
    finally:
        pipeline.close()


def test_faces_below_the_minimum_size_read_unknown_not_a_guess(pipeline_config: PipelineConfig) -> None:
    pipeline = FacePerceptionPipeline(pipeline_config.with_updates(
        {"detection.backend": "yunet", "classification.min_face_size": 48}))
    try:
        for _ in range(3):
            result = pipeline.process(make_face_frame([(160, 200, 30), (460, 260, 110)]))
        small, large = sorted(result.faces, key=lambda f: f.box[2])
        assert small.box[2] < 48 <= large.box[2]
        assert small.gender == "unknown" and small.emotion == "unknown"
        assert small.outputs["gender"].confidence == 0.0 and small.outputs["emotion"].confidence == 0.0
        assert math.isnan(small.age) and small.outputs["age"].confidence == 0.0
        assert large.emotion != "unknown" and large.outputs["emotion"].confidence > 0.2
        assert not math.isnan(large.age)
        # The same face read once it is close enough.
        pipeline.reconfigure(pipeline.config.with_updates({"classification.min_face_size": 0}))
        result = pipeline.process(make_face_frame([(160, 200, 30), (460, 260, 110)]))
        assert all(face.emotion != "unknown" for face in result.faces)
    finally:
        pipeline.close()


def test_launch_argument_picks_the_backend() -> None:
    from face_perception.bringup.graph import describe_graph

    (node,) = [n for n in describe_graph({"detection_backend": "yunet"}, REPO_ROOT).nodes
               if n.executable == "perception_node"]
    assert node.parameters[1]["detection.backend"] == "yunet"
    (default,) = describe_graph({}, REPO_ROOT).nodes
    assert "detection.backend" not in default.parameters[1]  # the params file's (haar)
    with pytest.raises(ValueError, match="detection.backend.*'yolo'"):
        describe_graph({"detection_backend": "yolo"}, REPO_ROOT)
