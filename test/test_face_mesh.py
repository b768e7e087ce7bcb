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

"""The face mesh and iris models, the 68-point mapping, the mesh's head pose, eye gaze and mouth."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO_ROOT
from face_perception.bringup import head_render
from face_perception.detection.blazeface import BlazeFaceDetector
from face_perception.detection.detection import Detection
from face_perception.detection.face_mesh import FaceMeshLandmarker, MIN_PRESENCE
from face_perception.detection.landmarks import ibug68, LOWER_LIP_INNER, UPPER_LIP_INNER
from face_perception.geometry import head_pose as hp
from face_perception.geometry.gaze import estimate_gaze, gaze_rotation_in_face
from face_perception.geometry.mesh_geometry import (
    align_mesh_pose,
    estimate_mesh_pose,
    from_mesh,
    mean_face,
    mirror_averaged_pose,
    mirrored_mean_face,
    POSE_POINTS,
    similarity_rotation,
)
from face_perception.geometry.mesh_tracking import MeshTracks
from face_perception.geometry.mouth import mouth_openness
from face_perception.parameters import PipelineConfig

HAND_MARKED = json.loads((REPO_ROOT / "test" / "data" / "astronaut_landmarks.json").read_text())
# The jaw's outline is a soft edge on a cheek: a looser tolerance than eyes, nose and mouth.
JAW = {str(i) for i in range(17)}
K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
CAMERA = hp.CameraModel.from_values(K.ravel(), [], "", 640, 480)


@pytest.fixture(scope="module")
def landmarker() -> FaceMeshLandmarker:
    return FaceMeshLandmarker(irises=True)


@pytest.fixture(scope="module")
def detector() -> BlazeFaceDetector:
    return BlazeFaceDetector("full_range", 0.5, 2.0)


def mesh_of(image, detector, landmarker):
    detection = detector.detect(image)[0]
    first = landmarker.measure(image, detection)
    return landmarker.measure(image, detection, first)


def test_the_68_landmarks_and_pupils_land_on_the_hand_marked_points(astronaut_bgr, detector, landmarker):
    landmarks = mesh_of(astronaut_bgr, detector, landmarker)
    assert landmarks.score > 0.9
    points = {str(i): p for i, p in enumerate(ibug68(landmarks.points))}
    points["68"], points["69"] = landmarks.right_eye.iris_centre, landmarks.left_eye.iris_centre
    size = HAND_MARKED["face_size_px"]
    errors = {}
    for index, marked in HAND_MARKED["points"].items():
        errors[index] = float(np.linalg.norm(points[index] - np.asarray(marked))) / size
        assert errors[index] < (0.08 if index in JAW else 0.05), (index, points[index], marked)
    assert np.median(list(errors.values())) < 0.03, errors


def test_bad_or_tiny_crops_give_no_landmarks(landmarker, astronaut_bgr):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert landmarker.measure(noise, Detection(200, 150, 160, 160, 0.9, 0.9)) is None
    grey = np.full((480, 640, 3), 128, np.uint8)
    assert landmarker.measure(grey, Detection(200, 150, 160, 160, 0.9, 0.9)) is None
    # A box on the astronaut's shoulder, not her face.
    assert landmarker.measure(astronaut_bgr, Detection(330, 330, 150, 150, 0.9, 0.9)) is None
    assert landmarker.measure(astronaut_bgr, Detection(220, 110, 10, 10, 0.9, 0.9)) is None  # 15 px crop
    with pytest.raises(ValueError, match="uint8"):
        landmarker.measure(astronaut_bgr.astype(np.float32), Detection(174, 70, 105, 105, 0.9, 0.9))


def test_a_turned_face_the_box_crop_doubts_gets_a_second_look(detector, landmarker):
    image = head_render.render_head(hp.face_rotation(-50, 20, 15), np.array([0.0, 0.0, 0.8]), K)
    detection = detector.detect(image)[0]
    # scripts/measurements/measure_head_pose.py's render: the detector's box gives presence 0.06, the crop
    # from that mesh 0.85.
    assert landmarker._run_mesh(image, *landmarker._crop_from(detection, None))[1] < MIN_PRESENCE
    landmarks = landmarker.measure(image, detection)
    assert landmarks is not None and landmarks.score >= MIN_PRESENCE
    assert align_mesh_pose(landmarks.points, CAMERA) is not None


def test_mesh_tracks_skip_small_faces_and_forget_dropped_tracks(astronaut_bgr, landmarker):
    config = PipelineConfig.from_mapping({"face_mesh.min_face_size": 120, "face_mesh.interval": 3}).face_mesh
    calls = []

    def factory(irises: bool):
        calls.append(irises)
        return landmarker

    tracks = MeshTracks(config, 0.5, factory)
    face = Detection(174, 70, 105, 105, 0.9, 0.9)
    assert tracks.update(astronaut_bgr, [("face_1", face)], 0, ["face_1"]) == {}
    assert calls == []  # a small face never loads the models
    tracks.config = PipelineConfig.from_mapping({"face_mesh.interval": 3}).face_mesh
    runs = [tracks.update(astronaut_bgr, [("face_1", face)], frame, ["face_1"])["face_1"].measured
            for frame in range(1, 8)]
    assert runs == [True, False, False, True, False, False, True] and calls == [True]
    assert tracks.update(astronaut_bgr, [], 8, []) == {}
    assert tracks.update(astronaut_bgr, [("face_1", face)], 9, ["face_1"])["face_1"].measured  # a new start


def test_mesh_runs_are_spread_over_the_frames(landmarker):
    from face_perception.ros.demo_frames import demo_frame

    image = demo_frame(0, 640, 480, 3)
    faces = BlazeFaceDetector("full_range", 0.5, 2.0).detect(image)
    assert len(faces) == 3
    tracks = MeshTracks(PipelineConfig.from_mapping({"face_mesh.interval": 2}).face_mesh, 0.5, lambda _: landmarker)
    ids = [f"face_{i}" for i in range(3)]
    runs = []
    for frame in range(9):
        meshes = tracks.update(image, list(zip(ids, faces)), frame, ids)
        assert set(meshes) == set(ids)
        runs.append(sum(mesh.measured for mesh in meshes.values()))
    # All three new, then 3 / 2 = 1.5 per frame on average, never all three at once again.
    assert runs[0] == 3 and max(runs[1:]) <= 2 and sum(runs[1:]) == pytest.approx(8 * 1.5, abs=1)


def test_mouth_openness_is_the_lip_gap_over_the_face_size(astronaut_bgr, detector, landmarker):
    points = mesh_of(astronaut_bgr, detector, landmarker).points.copy()
    open_now = mouth_openness(points)
    assert 0.05 < open_now < 0.4  # she smiles with her teeth apart
    points[LOWER_LIP_INNER] = points[UPPER_LIP_INNER]
    assert mouth_openness(points) == pytest.approx(0.0)
    points[LOWER_LIP_INNER, 1] += 40.0
    assert mouth_openness(points) > open_now


@pytest.mark.parametrize("estimate", [align_mesh_pose, estimate_mesh_pose])
@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (20, 0, 0), (-20, 10, 0), (10, -10, 15)])
def test_mesh_head_pose_on_renders(detector, landmarker, yaw, pitch, roll, estimate):
    truth = hp.face_rotation(yaw, pitch, roll)
    image = head_render.render_head(truth, np.array([0.0, 0.0, 0.8]), K)
    pose = estimate(mesh_of(image, detector, landmarker).points, CAMERA)
    # scripts/measurements/measure_head_pose.py: median 7 degrees on such renders, the frontal one's 5 included.
    assert hp.rotation_angle_deg(truth, pose.rotation) < 12.0
    assert abs(np.linalg.norm(pose.translation) - 0.8) < 0.12


def synthetic_mesh(rotation: np.ndarray, translation: np.ndarray, face=None) -> np.ndarray:
    """
    Return the mean face at a pose as the mesh model reports it.

    x, y: the points' pixels; z: their depth along the line of sight to the face (the model
    sees a crop, not where the crop lies in the image), relative, in x's scale at the face's distance.
    """
    model = (face or mean_face()).points
    camera_points = model @ rotation.T + translation
    sight = camera_points[POSE_POINTS].mean(axis=0)
    sight /= np.linalg.norm(sight)
    points = np.empty((len(camera_points), 3))
    points[:, :2] = hp.project(model, rotation, translation, K)
    depth = camera_points @ sight
    points[:, 2] = (depth - depth.mean()) * K[0, 0] / np.linalg.norm(translation)
    return points


def test_similarity_rotation_recovers_a_turned_scaled_shifted_shape():
    rotation = hp.face_rotation(35.0, -12.0, 8.0)
    model = mean_face().points
    assert hp.rotation_angle_deg(similarity_rotation(model, 3.7 * model @ rotation.T + [5.0, -2.0, 9.0]),
                                 rotation) < 1e-6


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (45, 0, 0), (-30, 15, 10), (20, -20, -15)])
@pytest.mark.parametrize("position", [(0.0, 0.0), (0.35, -0.2)])  # centred, and 25 degrees off the axis
def test_3d_alignment_recovers_the_pose_of_an_exact_mesh(yaw, pitch, roll, position):
    rotation = hp.face_rotation(yaw, pitch, roll)
    translation = np.array([*position, 0.8])
    pose = align_mesh_pose(synthetic_mesh(rotation, translation), CAMERA)
    # Weak perspective within the face (its depth over its distance) leaves well under a degree;
    # off the axis the line of sight's turn must be added back (without it: the 25 degrees).
    assert hp.rotation_angle_deg(rotation, pose.rotation) < 1.0
    np.testing.assert_allclose(pose.translation, translation, atol=0.02)
    assert pose.reprojection_error < 0.02  # eye distances


def test_mesh_pose_uses_the_depth_when_there_is_one():
    rotation, translation = hp.face_rotation(25.0, 5.0), np.array([0.1, 0.0, 0.9])
    points = synthetic_mesh(rotation, translation)
    flat = points.copy()
    flat[:, 2] = 0.0  # a wrong depth: the 3-D alignment reads a frontal face, SQPnP of 2-D points does not
    flat_pose = from_mesh(flat)(CAMERA)
    assert flat_pose is None or hp.rotation_angle_deg(rotation, flat_pose.rotation) > 15.0
    assert hp.rotation_angle_deg(rotation, from_mesh(points[:, :2])(CAMERA).rotation) < 1.0
    assert hp.rotation_angle_deg(rotation, from_mesh(points)(CAMERA).rotation) < 1.0
    assert align_mesh_pose(points[:, :2], CAMERA) is None


def test_the_mirrored_crop_gives_a_mirror_image_mesh(astronaut_bgr, detector, landmarker):
    detection = detector.detect(astronaut_bgr)[0]
    first = landmarker.measure(astronaut_bgr, detection)
    direct = landmarker.measure(astronaut_bgr, detection, first).points
    mirrored = landmarker.measure_mirrored(astronaut_bgr, detection, first)
    scale = np.linalg.norm(direct[263, :2] - direct[33, :2])
    # Its right eye's outer corner on her left eye's, and the reverse; the nose tip on the nose tip.
    for index, mirror_index in ((33, 263), (263, 33), (1, 1), (61, 291)):
        assert np.linalg.norm(mirrored[index, :2] - direct[mirror_index, :2]) < 0.1 * scale, index
    assert landmarker.measure_mirrored(np.zeros((480, 640, 3), np.uint8), detection) is None


def test_mirror_averaged_pose_of_exact_meshes_and_without_a_mirrored_mesh():
    rotation, translation = hp.face_rotation(30.0, -10.0, 5.0), np.array([0.2, -0.1, 0.9])
    points = synthetic_mesh(rotation, translation)
    mirrored = synthetic_mesh(rotation, translation, mirrored_mean_face())
    # The mirrored mesh alone, against the mirrored mean face, is the same head.
    assert hp.rotation_angle_deg(rotation, align_mesh_pose(mirrored, CAMERA, mirrored_mean_face()).rotation) < 1.0
    pose = mirror_averaged_pose(points, mirrored, CAMERA)
    assert hp.rotation_angle_deg(rotation, pose.rotation) < 1.0
    np.testing.assert_allclose(pose.translation, translation, atol=0.02)
    # A mirrored mesh turned 20 degrees away pulls the mean 10 degrees toward it.
    turned = synthetic_mesh(rotation @ hp.face_rotation(20.0) @ hp.face_rotation(0.0).T, translation,
                            mirrored_mean_face())
    assert 8.0 < hp.rotation_angle_deg(rotation, mirror_averaged_pose(points, turned, CAMERA).rotation) < 12.0
    alone = mirror_averaged_pose(points, None, CAMERA)
    np.testing.assert_allclose(alone.rotation, align_mesh_pose(points, CAMERA).rotation)


def test_turned_eyes_give_the_turned_gaze(detector, landmarker):
    rotation = hp.face_rotation(0.0)
    translation = np.array([0.0, 0.0, 0.6])
    in_face = {}
    for eyes_yaw in (-20.0, 0.0, 20.0):
        image = head_render.render_head(rotation, translation, K, head=head_render.head_with_eyes(eyes_yaw, 0.0))
        landmarks = mesh_of(image, detector, landmarker)
        pose = estimate_mesh_pose(landmarks.points, CAMERA)
        gaze = estimate_gaze(landmarks, pose, CAMERA)
        direction = pose.rotation.T @ gaze.direction
        in_face[eyes_yaw] = np.degrees(np.arctan2(direction[1], direction[0]))
        # The gaze frame: z along the gaze, a rotation, x toward the person's right.
        frame = gaze_rotation_in_face(gaze.direction, pose)
        np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-9)
        np.testing.assert_allclose(pose.rotation @ frame[:, 2], gaze.direction, atol=1e-9)
        assert frame[1, 0] < 0
    # Turned to the person's left (+) and right (-) by 20 degrees: turned that way by 20 +- 8.
    assert 12.0 < in_face[20.0] - in_face[0.0] < 28.0, in_face
    assert 12.0 < in_face[0.0] - in_face[-20.0] < 28.0, in_face


def test_the_astronaut_looks_at_the_camera(astronaut_bgr, detector, landmarker):
    height, width = astronaut_bgr.shape[:2]
    camera = hp.CameraModel.from_values([width, 0, width / 2, 0, width, height / 2, 0, 0, 1], [], "", width, height)
    landmarks = mesh_of(astronaut_bgr, detector, landmarker)
    gaze = estimate_gaze(landmarks, estimate_mesh_pose(landmarks.points, camera), camera)
    # scripts/measurements/measure_gaze.py: 10 degrees with this (assumed, 53 degree) field of view.
    assert gaze.angle_to_camera_deg < 15.0


def test_the_mean_face_is_an_adult_face_in_the_rep155_face_frame():
    face = mean_face()
    right_eye, left_eye = face.eye_corners_midpoint(False), face.eye_corners_midpoint(True)
    assert np.linalg.norm(left_eye - right_eye) == pytest.approx(0.063, abs=1e-4)
    assert left_eye[1] > 0 > right_eye[1]  # y to the person's left
    nose_tip, chin = face.points[1], face.points[152]
    assert nose_tip[0] > 0.015 and chin[2] < -0.09  # x out of the face, z up
    assert face.left_eyeball_centre[0] < 0 and face.eyeball_radius == pytest.approx(0.010)


def test_missing_face_mesh_models_are_refused_at_start_naming_the_parameter(monkeypatch, pipeline_config):
    from face_perception.detection import face_mesh
    from face_perception.detection.blazeface import BlazeFaceLoadError
    from face_perception.pipeline.pipeline import FacePerceptionPipeline

    monkeypatch.setattr(face_mesh, "MODEL_PACKAGE", "no_such_package_here")
    with pytest.raises(BlazeFaceLoadError, match="face_mesh.enabled"):
        FacePerceptionPipeline(pipeline_config)
    FacePerceptionPipeline(pipeline_config.with_updates({"face_mesh.enabled": False})).close()
