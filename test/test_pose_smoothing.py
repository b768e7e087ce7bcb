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

"""The pipeline's per-track head pose and gaze smoothing (pipeline.pose_smoothing), without ROS."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from face_perception.geometry import head_pose as hp
from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline

# Shift of the second frame, pixels: the head moves sideways by ~5 cm at the astronaut's distance.
SHIFT_PX = 24
FRAME_S = 1 / 30


@pytest.fixture(scope="module")
def config(model_dir) -> PipelineConfig:
    # The mesh on every frame, so each frame's raw pose comes from its own mesh.
    return PipelineConfig.from_mapping({
        "classification.emotion_model": str(model_dir / "emotion.tflite"),
        "classification.gender_model": str(model_dir / "gender.tflite"),
        "classification.age_model": "none",
        "face_mesh.interval": 1,
        "tracking.max_missed_frames": 1,
    })


def camera_for(image: np.ndarray) -> hp.CameraModel:
    height, width = image.shape[:2]
    return hp.CameraModel.from_values([width, 0, width / 2, 0, width, height / 2, 0, 0, 1], [], "", width, height)


def shifted(image: np.ndarray, dx: int) -> np.ndarray:
    return cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, 0]]), (image.shape[1], image.shape[0]),
                          borderMode=cv2.BORDER_REPLICATE)


def raw_position(config: PipelineConfig, image: np.ndarray) -> np.ndarray:
    """Return the one face's position in a fresh pipeline: its first pose, which no filter has touched."""
    pipeline = FacePerceptionPipeline(config)
    try:
        return pipeline.process(image, camera_for(image), 0.0).faces[0].head_pose.translation
    finally:
        pipeline.close()


def test_faces_carry_pose_and_gaze_only_with_a_camera(config, astronaut_bgr):
    pipeline = FacePerceptionPipeline(config)
    face = pipeline.process(astronaut_bgr).faces[0]
    assert face.head_pose is None and face.gaze is None  # no intrinsics, no pose
    result = pipeline.process(astronaut_bgr, camera_for(astronaut_bgr), 0.0)
    face = result.faces[0]
    assert face.landmarks is not None and face.keypoints is not None  # measured for the pose, unasked
    assert 0.2 < face.head_pose.translation[2] < 3.0  # in front of the camera, at a portrait's distance
    # scripts/measurements/measure_gaze.py: she looks at the camera, about 10 degrees with this field of view.
    assert face.gaze is not None and face.gaze.angle_to_camera_deg < 15.0
    assert result.live_head_poses == {face.track_id: face.head_pose}
    assert result.live_gazes == {face.track_id: face.gaze}
    pipeline.close()
    off = FacePerceptionPipeline(config.with_updates({"head_pose.enabled": False}))
    face = off.process(astronaut_bgr, camera_for(astronaut_bgr), 0.0).faces[0]
    assert off.pose_smoothing is None and face.head_pose is None and face.gaze is None
    off.close()


def test_smoothing_follows_its_parameters_also_when_changed_at_run_time(config, astronaut_bgr):
    # The sideways position (x) is what the shift changes; depth is the pose's noisiest part.
    moved = shifted(astronaut_bgr, SHIFT_PX)
    start, end = raw_position(config, astronaut_bgr)[0], raw_position(config, moved)[0]
    step = end - start
    assert step > 0.02  # the head moves right by centimetres
    camera = camera_for(astronaut_bgr)
    # Heavy smoothing (a 0.01 Hz cutoff, no speed term): the pose barely follows the move.
    steady = config.with_updates({"head_pose.min_cutoff": 0.01, "head_pose.beta": 0.0})
    pipeline = FacePerceptionPipeline(steady)
    first = pipeline.process(astronaut_bgr, camera, 0.0).faces[0]
    assert first.head_pose.translation[0] == pytest.approx(start, abs=1e-9)
    second = pipeline.process(moved, camera, FRAME_S).faces[0]
    assert second.track_id == first.track_id
    assert abs(second.head_pose.translation[0] - start) < 0.05 * step, (start, end, second.head_pose.translation)
    # Changed at run time (ros2 param set reaches reconfigure): a 100 Hz cutoff follows at once.
    pipeline.reconfigure(steady.with_updates({"head_pose.min_cutoff": 100.0}))
    third = pipeline.process(moved, camera, 2 * FRAME_S).faces[0]
    assert third.track_id == first.track_id
    assert abs(third.head_pose.translation[0] - end) < 0.15 * step, (start, end, third.head_pose.translation)
    pipeline.close()


def test_track_expiry_clears_the_smoothing_state(config, astronaut_bgr):
    pipeline = FacePerceptionPipeline(config)
    camera = camera_for(astronaut_bgr)
    face = pipeline.process(astronaut_bgr, camera, 0.0).faces[0]
    assert pipeline.pose_smoothing.has_state(face.track_id)
    blank = np.full_like(astronaut_bgr, 128)
    # Missed but still tracked (tracking.max_missed_frames 1): its last pose and gaze stay.
    result = pipeline.process(blank, camera, FRAME_S)
    assert result.faces == [] and result.live_head_poses == {face.track_id: face.head_pose}
    assert result.live_gazes == {face.track_id: face.gaze}
    # Dropped by the tracker: its smoothing state goes with it.
    result = pipeline.process(blank, camera, 2 * FRAME_S)
    assert result.live_track_ids == () and result.live_head_poses == {} and result.live_gazes == {}
    assert not pipeline.pose_smoothing.has_state(face.track_id)
    # The face comes back as a new track whose first pose is its own, unsmoothed.
    again = pipeline.process(astronaut_bgr, camera, 3 * FRAME_S).faces[0]
    assert again.track_id != face.track_id
    np.testing.assert_allclose(again.head_pose.translation, face.head_pose.translation, atol=1e-9)
    pipeline.close()
