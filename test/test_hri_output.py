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

"""ROS4HRI (REP-155) output in a real rclpy graph, and the node without hri_msgs."""
from __future__ import annotations

from pathlib import Path
import re
import subprocess
import sys

import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from conftest import make_face_frame, REPO_ROOT, wait_for
from face_perception.ros.demo_frames import background
from face_perception.ros.perception_node import NODE_NAME
from ros_helpers import image_message

try:  # scripts/setup/setup_env.sh --dev builds hri_msgs where ../shared/ros2/src/hri_msgs exists (CI does)
    from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D, SoftBiometrics

    from face_perception.ros import hri_output
except ImportError:
    hri_output = None
needs_hri_msgs = pytest.mark.skipif(hri_output is None, reason="hri_msgs is not installed")


def face_topics(node, face_id: str) -> list[str]:
    names = node.get_publisher_names_and_types_by_node(NODE_NAME, "/")
    return sorted(name for name, _ in names if name.startswith(f"/humans/faces/{face_id}/"))


@pytest.mark.ros
@needs_hri_msgs
def test_hri_topics_follow_a_tracked_face_and_go_when_its_track_ends(ros_graph, model_dir: Path,
                                                                     astronaut_bgr):
    node, probe = ros_graph({
        "hri.enabled": True,
        "classification.age_model": str(model_dir / "age.tflite"),
        "tracking.max_missed_frames": 1,
    })
    publishers_before = len(list(node.publishers))
    tracked: list[IdsList] = []
    probe.node.create_subscription(IdsList, "/humans/faces/tracked", tracked.append, 10)
    assert wait_for(lambda: node.count_subscribers("/humans/faces/tracked") > 0)

    header = probe.header()
    probe.image_pub.publish(image_message(astronaut_bgr, header))
    assert wait_for(lambda: any(m.header == header for m in tracked))
    ids = next(m for m in tracked if m.header == header).ids
    attributes = probe.attributes_for(header)
    assert attributes is not None and len(attributes.faces) == 1 and len(ids) == 1
    face, face_id = attributes.faces[0], ids[0]
    # Short, starts with a letter, ends with the track's number.
    assert re.fullmatch(r"[a-z]{3}\d+", face_id) and face_id.endswith(face.track_id.rpartition("_")[2])
    assert face_topics(node, face_id) == [f"/humans/faces/{face_id}/{t}" for t in
                                          ("aligned", "cropped", "expression", "landmarks", "roi", "softbiometrics")]

    received: dict[str, list] = {"roi": [], "softbiometrics": [], "expression": [], "cropped": []}
    base = f"/humans/faces/{face_id}"
    probe.node.create_subscription(NormalizedRegionOfInterest2D, f"{base}/roi", received["roi"].append, 10)
    probe.node.create_subscription(SoftBiometrics, f"{base}/softbiometrics", received["softbiometrics"].append, 10)
    probe.node.create_subscription(Expression, f"{base}/expression", received["expression"].append, 10)
    # Reliable subscriptions, as libhri makes them (a best-effort publisher would not match).
    probe.node.create_subscription(Image, f"{base}/cropped", received["cropped"].append, 10)
    assert wait_for(lambda: all(node.count_subscribers(f"{base}/{t}") > 0 for t in received))

    # Per-face messages come with each frame the face is in.
    def all_received_for(frame_header) -> bool:
        return all(any(m.header == frame_header for m in messages) for messages in received.values())

    for _ in range(5):
        header = probe.header()
        probe.image_pub.publish(image_message(astronaut_bgr, header))
        if wait_for(lambda: all_received_for(header), timeout=4.0):
            break
    assert all_received_for(header)
    attributes = probe.attributes_for(header)
    face = attributes.faces[0]
    softbiometrics = next(m for m in received["softbiometrics"] if m.header == header)
    assert np.isfinite(face.age) and softbiometrics.age == round(face.age)
    # SoftBiometrics.age_confidence: the probability of the age group holding the published years.
    held = hri_output.group_index(softbiometrics.age)
    assert softbiometrics.age_confidence == pytest.approx(face.age_group_probabilities[held], abs=1e-6)
    # (The test model's bins have no edges: a group holding no bin centre has probability 0.)
    assert sum(face.age_group_probabilities) == pytest.approx(1.0, abs=1e-5)
    assert softbiometrics.gender == {"female": SoftBiometrics.FEMALE, "male": SoftBiometrics.MALE}.get(
        face.gender, SoftBiometrics.UNDEFINED)
    assert softbiometrics.gender_confidence == pytest.approx(face.gender_confidence, abs=1e-6)
    expression = next(m for m in received["expression"] if m.header == header)
    assert expression.expression == hri_output.EXPRESSIONS[face.emotion]
    assert expression.confidence == pytest.approx(face.emotion_confidence, abs=1e-6)
    assert -1.0 <= expression.valence <= 1.0 and -1.0 <= expression.arousal <= 1.0
    roi = next(m for m in received["roi"] if m.header == header)
    height, width = astronaut_bgr.shape[:2]
    assert roi.xmin == pytest.approx(face.bbox.x_offset / width, abs=1e-6)
    assert roi.ymax == pytest.approx((face.bbox.y_offset + face.bbox.height) / height, abs=1e-6)
    assert roi.c == pytest.approx(face.detection_confidence, abs=1e-6)
    cropped = next(m for m in received["cropped"] if m.header == header)
    assert (cropped.width, cropped.height, cropped.encoding) == (128, 128, "bgr8")

    # No face: the track survives one missed frame (max_missed_frames 1), then ends and its
    # topics go; the tracked list is still published, empty.
    for _ in range(10):
        header = probe.header()
        probe.image_pub.publish(image_message(background(512, 512, 3), header))
        if wait_for(lambda: any(m.header == header and not m.ids for m in tracked), timeout=4.0):
            break
    assert any(m.header == header and m.ids == [] for m in tracked)
    assert face_topics(node, face_id) == []
    assert len(list(node.publishers)) == publishers_before
    # The probe (another node) sees no publisher left on them either; its own subscriptions remain.
    assert wait_for(lambda: all(not probe.node.get_publishers_info_by_topic(f"{base}/{t}") for t in received))


@pytest.mark.ros
@needs_hri_msgs
def test_two_faces_get_two_ids_and_their_own_topics(ros_graph):
    node, probe = ros_graph({"hri.enabled": True})
    tracked: list[IdsList] = []
    probe.node.create_subscription(IdsList, "/humans/faces/tracked", tracked.append, 10)
    assert wait_for(lambda: node.count_subscribers("/humans/faces/tracked") > 0)
    header = probe.header()
    probe.image_pub.publish(image_message(make_face_frame([(160, 240, 120), (480, 240, 120)]), header))
    assert wait_for(lambda: any(m.header == header for m in tracked))
    ids = next(m for m in tracked if m.header == header).ids
    assert len(ids) == 2 and len(set(ids)) == 2
    for face_id in ids:
        assert len(face_topics(node, face_id)) == 6
    # Without an age model: age NaN, confidence 0.
    face = probe.attributes_for(header).faces[0]
    assert np.isnan(face.age) and face.age_confidence == 0.0
    assert face.age_group == "" and not any(face.age_group_probabilities)
    assert np.isnan(face.child_probability) and not face.is_child
    # hri.enabled is read at start-up only.
    refused = node.set_parameters([Parameter("hri.enabled", value=False)])[0]
    assert not refused.successful and "start-up only" in refused.reason


# The node with hri_msgs made unimportable (as on a pip install without it).
_WITHOUT_HRI_MSGS = """
import sys
sys.modules["hri_msgs"] = None  # any `import hri_msgs...` now raises ImportError
import rclpy
from rclpy.parameter import Parameter
from face_perception.ros.demo_frames import load_demo_image
from face_perception.ros.perception_node import PerceptionNode, StartupError
parameters = {parameters!r}
rclpy.init()
node = PerceptionNode(parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
faces = node._pipeline.process(load_demo_image()).faces
node.destroy_node()
print("FACES", len(faces), "HRI_MSGS_IMPORTED", any(m.startswith("hri_msgs.") for m in sys.modules))
try:
    PerceptionNode(parameter_overrides=[
        Parameter(k, value=v) for k, v in {{**parameters, "hri.enabled": True}}.items()])
except StartupError as error:
    print("REFUSED", error)
rclpy.shutdown()
"""


@pytest.mark.ros
def test_without_hri_msgs_the_node_runs_unless_hri_is_enabled(model_parameters):
    script = _WITHOUT_HRI_MSGS.format(parameters=model_parameters)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                               cwd=REPO_ROOT)
    assert completed.returncode == 0, completed.stderr
    assert "FACES 1 HRI_MSGS_IMPORTED False" in completed.stdout
    refused = completed.stdout.split("REFUSED", 1)[1]
    assert "parameter 'hri.enabled'" in refused and "hri_msgs" in refused


@needs_hri_msgs
def test_cropped_face_is_scaled_centred_and_zero_padded():
    image = np.full((100, 200, 3), 200, dtype=np.uint8)
    crop = hri_output.cropped_face(image, (10, 20, 80, 40))  # 2:1 box -> 128x64 band
    assert crop.shape == (128, 128, 3)
    assert (crop[32:96] == 200).all() and (crop[:32] == 0).all() and (crop[96:] == 0).all()


@needs_hri_msgs
def test_valence_arousal_is_the_probability_weighted_mean():
    labels = ("happy", "sad", "neutral")
    assert hri_output.valence_arousal([1, 0, 0], labels) == pytest.approx(hri_output.VALENCE_AROUSAL["happy"])
    mixed = hri_output.valence_arousal([0.5, 0.5, 0.0], labels)
    happy, sad = np.array(hri_output.VALENCE_AROUSAL["happy"]), np.array(hri_output.VALENCE_AROUSAL["sad"])
    assert mixed == pytest.approx(tuple((happy + sad) / 2))
    assert set(hri_output.EXPRESSIONS) == set(hri_output.VALENCE_AROUSAL)


@needs_hri_msgs
def test_landmarks_are_all_70_from_the_mesh_or_the_six_keypoints_without_it(astronaut_bgr):
    import dataclasses

    from std_msgs.msg import Header

    from face_perception.parameters import PipelineConfig
    from face_perception.pipeline.pipeline import FacePerceptionPipeline

    pipeline = FacePerceptionPipeline(PipelineConfig.from_mapping({"detection.backend": "blazeface"}))
    pipeline.measure_landmarks = True
    face = pipeline.process(astronaut_bgr).faces[0]
    assert face.landmarks is not None and face.keypoints is not None
    size = (astronaut_bgr.shape[1], astronaut_bgr.shape[0])
    with_mesh = hri_output.facial_landmarks(face, size, Header()).landmarks
    assert all(p.c == pytest.approx(face.landmarks.score) for p in with_mesh)
    pupil = with_mesh[69]  # the iris model's left pupil, not BlazeFace's eye keypoint
    assert (pupil.x * size[0], pupil.y * size[1]) == pytest.approx(tuple(face.landmarks.left_eye.iris_centre))
    # Without a mesh: the six keypoints at their indices, c = 0 elsewhere.
    six = hri_output.facial_landmarks(dataclasses.replace(face, landmarks=None), size, Header()).landmarks
    ours = set(hri_output.LANDMARK_INDICES.values())
    assert all((p.c > 0) == (i in ours) for i, p in enumerate(six))
    # A mesh without irises: the pupils are the detector's eye keypoints.
    no_irises = dataclasses.replace(face.landmarks, right_eye=None, left_eye=None)
    mixed = hri_output.facial_landmarks(dataclasses.replace(face, landmarks=no_irises), size, Header()).landmarks
    assert mixed[68].x == pytest.approx(face.keypoints[0][0] / size[0]) and mixed[68].c == face.detection_confidence
    assert mixed[30].c == pytest.approx(face.landmarks.score)
    assert hri_output.facial_landmarks(dataclasses.replace(face, landmarks=None, keypoints=None), size,
                                       Header()) is None
