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

"""Head pose maths (face_perception.geometry.head_pose) and the pipeline's keypoints for it, without ROS."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from face_perception.geometry import head_pose as hp
from face_perception.parameters import PipelineConfig
from face_perception.pipeline.pipeline import FacePerceptionPipeline

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
PINHOLE = hp.CameraModel.from_values(K.ravel(), [0.0] * 5, "plumb_bob", 640, 480)


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (35, -10, 5), (-55, 15, -20), (10, 25, 30)])
def test_exact_keypoints_give_the_exact_pose(yaw, pitch, roll):
    rotation, translation = hp.face_rotation(yaw, pitch, roll), np.array([0.12, -0.05, 0.9])
    pose = hp.estimate_head_pose(hp.project(hp.MEAN_FACE, rotation, translation, K), PINHOLE)
    assert pose is not None
    assert hp.rotation_angle_deg(rotation, pose.rotation) < 0.01
    np.testing.assert_allclose(pose.translation, translation, atol=1e-5)
    assert pose.reprojection_error < 1e-4


def test_frames_follow_rep_103_and_rep_155():
    # A face looking straight at the camera: its x (out of the face) points back at the
    # camera (-z), its y (the person's left) to the image's right (+x), its z up (-y).
    facing = hp.face_rotation(0.0)
    np.testing.assert_allclose(facing, np.column_stack([[0, 0, -1], [1, 0, 0], [0, -1, 0]]), atol=1e-12)
    pose = hp.HeadPose(facing, np.array([0.0, 0.0, 1.0]))
    gaze = pose.gaze_rotation()
    # Gaze: z along the face's x, x to the person's right (-y_face), y down (-z_face).
    np.testing.assert_allclose(gaze[:, 2], facing[:, 0], atol=1e-12)
    np.testing.assert_allclose(gaze[:, 0], -facing[:, 1], atol=1e-12)
    np.testing.assert_allclose(gaze[:, 1], -facing[:, 2], atol=1e-12)
    assert np.linalg.det(gaze) == pytest.approx(1.0)
    # The person's right eye is on the image's left.
    right_eye, left_eye = hp.project(hp.MEAN_FACE[:2], facing, pose.translation, K)
    assert right_eye[0] < 320 < left_eye[0]
    # Turning the head to the person's left moves the nose to the image's right.
    nose_frontal = hp.project(hp.MEAN_FACE[2:3], facing, pose.translation, K)[0]
    nose_turned = hp.project(hp.MEAN_FACE[2:3], hp.face_rotation(30.0), pose.translation, K)[0]
    assert nose_turned[0] > nose_frontal[0] + 5


def test_yaw_pitch_roll_inverts_face_rotation():
    for angles in [(0, 0, 0), (35, -10, 5), (-70, 40, -30)]:
        np.testing.assert_allclose(hp.yaw_pitch_roll(hp.face_rotation(*angles)), angles, atol=1e-9)


def test_quaternions_round_trip():
    for yaw, pitch, roll in [(0, 0, 0), (170, 10, -20), (-90, 45, 5)]:
        rotation = hp.face_rotation(yaw, pitch, roll)
        quaternion = hp.matrix_to_quaternion(rotation)
        assert quaternion[3] >= 0 and np.linalg.norm(quaternion) == pytest.approx(1.0)
        np.testing.assert_allclose(hp.quaternion_to_matrix(quaternion), rotation, atol=1e-9)


@pytest.mark.parametrize("model, d", [("plumb_bob", [-0.3, 0.1, 0.001, -0.002, 0.0]),
                                      ("equidistant", [0.05, -0.01, 0.002, 0.0])])
def test_lens_distortion_is_removed_before_the_fit(model, d):
    rotation, translation = hp.face_rotation(20, 5, 0), np.array([0.25, 0.15, 0.8])  # off-centre: strong distortion
    rvec, _ = cv2.Rodrigues(rotation)
    if model == "equidistant":
        distorted, _ = cv2.fisheye.projectPoints(hp.MEAN_FACE.reshape(-1, 1, 3), rvec, translation, K, np.array(d))
    else:
        distorted, _ = cv2.projectPoints(hp.MEAN_FACE, rvec, translation, K, np.array(d))
    camera = hp.CameraModel.from_values(K.ravel(), d, model)
    pose = hp.estimate_head_pose(distorted.reshape(-1, 2), camera)
    assert pose is not None and hp.rotation_angle_deg(rotation, pose.rotation) < 0.05
    np.testing.assert_allclose(pose.translation, translation, atol=1e-4)
    # Ignoring the distortion would be wrong by much more.
    ignored = hp.estimate_head_pose(distorted.reshape(-1, 2), PINHOLE)
    assert ignored is None or np.linalg.norm(ignored.translation - translation) > 0.01


@pytest.mark.parametrize("k, d, model, reason", [
    ([0.0] * 9, [], "plumb_bob", "uncalibrated"),
    ([600, 0, 320, 0, math.nan, 240, 0, 0, 1], [], "plumb_bob", "focal"),
    (K.ravel(), [0.1, 0.2], "plumb_bob", "2 distortion coefficients"),
    (K.ravel(), [0.0] * 5, "kannala", "is not one of"),
])
def test_unusable_camera_info_is_refused_with_the_reason(k, d, model, reason):
    with pytest.raises(hp.CameraModelError, match=reason):
        hp.CameraModel.from_values(k, d, model)


def test_implausible_keypoints_give_no_pose():
    # All six points on one spot, or scattered at random: no face fits.
    assert hp.estimate_head_pose(np.full((6, 2), 300.0), PINHOLE) is None
    rng = np.random.default_rng(3)
    scattered = rng.uniform(0, 640, (6, 2))
    assert hp.estimate_head_pose(scattered, PINHOLE) is None


def test_one_euro_steadies_a_still_head_and_follows_a_moving_one():
    rng = np.random.default_rng(0)
    times = np.arange(0, 3, 1 / 30)
    filt = hp.OneEuroFilter(hp.OneEuroParameters(min_cutoff=1.0, beta=2.0, d_cutoff=1.0))
    still = np.array([filt(np.array([0.8]) + rng.normal(0, 0.01, 1), t)[0] for t in times])
    assert np.std(still[30:]) < np.std(rng.normal(0, 0.01, 1000)) / 2.5
    # A head moving at 0.5 m/s: after half a second the filter lags by under 5 cm.
    filt = hp.OneEuroFilter(hp.OneEuroParameters(min_cutoff=1.0, beta=2.0, d_cutoff=1.0))
    moving = [filt(np.array([0.8 + 0.5 * t]), t)[0] for t in times]
    assert 0.8 + 0.5 * times[-1] - moving[-1] < 0.05
    # Time going backwards restarts the filter on the new value.
    assert filt(np.array([2.0]), 0.0)[0] == 2.0


def test_tracker_keeps_poses_of_live_tracks_only():
    tracker = hp.HeadPoseTracker(hp.OneEuroParameters())
    rotation, translation = hp.face_rotation(10), np.array([0.0, 0.0, 1.0])
    keypoints = hp.project(hp.MEAN_FACE, rotation, translation, K)
    poses = tracker.update_frame([("face_1", hp.from_keypoints(keypoints)), ("face_2", None)], ["face_1", "face_2"],
                                 PINHOLE, 0.0)
    assert set(poses) == {"face_1"}  # face_2 has no keypoints: no pose
    np.testing.assert_allclose(poses["face_1"].translation, translation, atol=1e-5)
    # face_1 missed in this frame but still tracked: its last pose stays.
    poses = tracker.update_frame([], ["face_1"], PINHOLE, 1 / 30)
    assert set(poses) == {"face_1"}
    # Dropped by the tracker: forgotten.
    assert tracker.update_frame([], [], PINHOLE, 2 / 30) == {}
    assert tracker.last("face_1") is None


def test_tracker_smooths_jittering_keypoints():
    rng = np.random.default_rng(1)
    rotation, translation = hp.face_rotation(20, 5), np.array([0.05, 0.0, 1.2])
    exact = hp.project(hp.MEAN_FACE, rotation, translation, K)
    tracker = hp.HeadPoseTracker(hp.OneEuroParameters(min_cutoff=1.0, beta=2.0, d_cutoff=1.0))
    raw_errors, smoothed_errors = [], []
    for frame in range(60):
        noisy = exact + rng.normal(0, 1.0, exact.shape)  # 1 px keypoint noise, eye distance ~32 px
        raw = hp.estimate_head_pose(noisy, PINHOLE)
        smoothed = tracker.update_frame([("face_1", hp.from_keypoints(noisy))], ["face_1"], PINHOLE,
                                        frame / 30)["face_1"]
        if frame >= 15 and raw is not None:
            raw_errors.append(hp.rotation_angle_deg(rotation, raw.rotation))
            smoothed_errors.append(hp.rotation_angle_deg(rotation, smoothed.rotation))
    assert np.mean(smoothed_errors) < 0.6 * np.mean(raw_errors)


def test_pipeline_measures_haar_keypoints_only_when_an_output_needs_them(model_dir, astronaut_bgr):
    config = PipelineConfig.from_mapping({
        "classification.emotion_model": str(model_dir / "emotion.tflite"),
        "classification.gender_model": str(model_dir / "gender.tflite"),
        "classification.age_model": "none",
    })
    pipeline = FacePerceptionPipeline(config)
    face = pipeline.process(astronaut_bgr).faces[0]
    assert face.keypoints is None  # Haar, box-framed models: no BlazeFace pass
    pipeline.measure_keypoints = True
    face = pipeline.process(astronaut_bgr).faces[0]
    assert face.keypoints is not None and len(face.keypoints) == 6
    x, y, w, h = face.box
    right_eye, left_eye, nose, mouth = np.asarray(face.keypoints[:4])
    for point in (right_eye, left_eye, nose, mouth):
        assert x < point[0] < x + w and y < point[1] < y + h
    assert right_eye[0] < nose[0] < left_eye[0] and max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]
