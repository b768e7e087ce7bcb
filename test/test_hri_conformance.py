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
REP-155 output read the way a ROS4HRI consumer (libhri/pyhri) reads it.

A consumer subscribes with the system-default QoS (reliable, volatile), follows
``/humans/faces/tracked``, subscribes to each face's topics, and looks ``face_<id>`` and
``gaze_<id>`` up on /tf. There is no tf2_ros on the pip path, so this test reads /tf as a
plain tf2_msgs/TFMessage topic and composes the transforms itself. The camera images are
renders of a 3-D head at a known pose (face_perception.bringup.head_render), so the frames'
values are checked too, not only their presence.
"""
from __future__ import annotations

import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image

from conftest import REPO_ROOT, wait_for
from face_perception.geometry import head_pose as hp
from face_perception.ros.demo_frames import background
from ros_helpers import image_message

try:  # scripts/setup/setup_env.sh --dev builds both where ../shared/ros2/src holds them (CI does)
    from hri_msgs.msg import Expression, FacialLandmarks, IdsList, NormalizedRegionOfInterest2D, SoftBiometrics
    from tf2_msgs.msg import TFMessage

    from face_perception.bringup import head_render
    from face_perception.ros import hri_output
except ImportError:
    hri_output = None
needs_interfaces = pytest.mark.skipif(hri_output is None, reason="hri_msgs or tf2_msgs is not installed")

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])
WIDTH, HEIGHT = 640, 480
# The rendered head: turned 25 degrees to the person's left and rolled 12 degrees, 0.8 m in
# front of the camera, a little right and up; its eyes turned 25 degrees back to the
# person's right, so they look about at the camera while the head does not.
TRUE_ROTATION = hp.face_rotation(25.0, 0.0, 12.0)
TRUE_TRANSLATION = np.array([0.06, -0.03, 0.8])
EYES_YAW_DEG = -25.0
DEFAULT_QOS = QoSProfile(depth=10)  # reliable, volatile: what libhri subscribes with
FACE_TOPICS = ("roi", "cropped", "aligned", "landmarks", "softbiometrics", "expression")
FACE_TOPIC_TYPES = {"roi": NormalizedRegionOfInterest2D, "cropped": Image, "aligned": Image,
                    "landmarks": FacialLandmarks, "softbiometrics": SoftBiometrics,
                    "expression": Expression} if hri_output is not None else {}


def camera_info(header) -> CameraInfo:
    return CameraInfo(header=header, width=WIDTH, height=HEIGHT, distortion_model="plumb_bob",
                      d=[0.0] * 5, k=K.ravel().tolist(), r=np.eye(3).ravel().tolist(),
                      p=np.hstack([K, np.zeros((3, 1))]).ravel().tolist())


def transform_matrix(transform) -> np.ndarray:
    """4x4 of a geometry_msgs/Transform."""
    q = transform.rotation
    matrix = np.eye(4)
    matrix[:3, :3] = hp.quaternion_to_matrix([q.x, q.y, q.z, q.w])
    matrix[:3, 3] = [transform.translation.x, transform.translation.y, transform.translation.z]
    return matrix


class TfListener:
    """The latest transform per (parent, child) and stamp from /tf; composes chains."""

    def __init__(self, node) -> None:
        self.messages: list[TFMessage] = []
        node.create_subscription(TFMessage, "/tf", self.messages.append, QoSProfile(depth=100))

    def find(self, child: str, stamp):
        for message in reversed(self.messages):
            for transform in message.transforms:
                if transform.child_frame_id == child and transform.header.stamp == stamp:
                    return transform
        return None

    def lookup(self, target: str, source: str, stamp) -> np.ndarray | None:
        """``source`` in ``target`` (4x4), following parents from ``source`` up to ``target``."""
        matrix, frame = np.eye(4), source
        while frame != target:
            transform = self.find(frame, stamp)
            if transform is None:
                return None
            matrix = transform_matrix(transform.transform) @ matrix
            frame = transform.header.frame_id
        return matrix


@pytest.fixture(scope="module")
def rendered_face() -> np.ndarray:
    return head_render.render_head(TRUE_ROTATION, TRUE_TRANSLATION, K, WIDTH, HEIGHT,
                                   head=head_render.head_with_eyes(EYES_YAW_DEG, 0.0))


@pytest.mark.ros
@needs_interfaces
def test_a_consumer_finds_every_rep155_topic_and_the_face_frames(ros_graph, rendered_face):
    node, probe = ros_graph({"hri.enabled": True, "tracking.max_missed_frames": 1, "detection.backend": "blazeface"})
    info_pub = probe.node.create_publisher(CameraInfo, "/camera/camera_info", DEFAULT_QOS)
    tracked: list[IdsList] = []
    probe.node.create_subscription(IdsList, "/humans/faces/tracked", tracked.append, DEFAULT_QOS)
    tf = TfListener(probe.node)
    assert wait_for(lambda: node.count_subscribers("/tf") > 0 and node.count_publishers("/camera/camera_info") > 0
                    and node.count_subscribers("/humans/faces/tracked") > 0)

    def send(image: np.ndarray):
        header = probe.header("head_front_camera_color_optical_frame")
        info_pub.publish(camera_info(header))
        probe.image_pub.publish(image_message(image, header))
        return header

    # A consumer learns the face ids from /tracked, then subscribes to each face's topics.
    header = None
    for _ in range(5):
        header = send(rendered_face)
        if wait_for(lambda: any(m.header == header and m.ids for m in tracked), timeout=4.0):
            break
    ids = next(m for m in tracked if m.header == header).ids
    assert len(ids) == 1 and re.fullmatch(r"[a-z]{3}\d+", ids[0])
    face_id = ids[0]
    base = f"/humans/faces/{face_id}"
    received: dict[str, list] = {topic: [] for topic in FACE_TOPICS}
    for topic in FACE_TOPICS:
        probe.node.create_subscription(FACE_TOPIC_TYPES[topic], f"{base}/{topic}", received[topic].append,
                                       DEFAULT_QOS)
    assert wait_for(lambda: all(node.count_subscribers(f"{base}/{t}") > 0 for t in FACE_TOPICS))

    def complete(frame_header) -> bool:
        return (all(any(m.header == frame_header for m in messages) for messages in received.values())
                and tf.lookup(frame_header.frame_id, f"gaze_{face_id}", frame_header.stamp) is not None
                and probe.attributes_for(frame_header) is not None)

    for _ in range(8):
        header = send(rendered_face)
        if wait_for(lambda: complete(header), timeout=4.0):
            break
    assert complete(header), {topic: len(messages) for topic, messages in received.items()}
    assert next(m for m in tracked if m.header == header).ids == [face_id]
    roi = next(m for m in received["roi"] if m.header == header)

    # Landmarks: all 70 normalised points with a confidence (the face mesh and the irises), in
    # REP-155's sides (the person's right eye is on the image's left here).
    landmarks = next(m for m in received["landmarks"] if m.header == header)
    assert len(landmarks.landmarks) == 70 and (landmarks.width, landmarks.height) == (WIDTH, HEIGHT)
    assert all(0.0 <= p.x <= 1.0 and 0.0 <= p.y <= 1.0 and 0.0 < p.c <= 1.0 for p in landmarks.landmarks)
    point = {index: np.array([p.x * WIDTH, p.y * HEIGHT]) for index, p in enumerate(landmarks.landmarks)}
    grown = 0.15 * (roi.xmax - roi.xmin) * WIDTH  # the jaw and brows may reach a little past the box
    for index in range(68):
        assert roi.xmin * WIDTH - grown <= point[index][0] <= roi.xmax * WIDTH + grown, index
        assert roi.ymin * HEIGHT - grown <= point[index][1] <= roi.ymax * HEIGHT + grown, index
    F = FacialLandmarks
    assert point[F.RIGHT_EYE_OUTSIDE][0] < point[F.RIGHT_EYE_INSIDE][0] < point[F.LEFT_EYE_INSIDE][0]
    assert point[F.LEFT_EYE_INSIDE][0] < point[F.LEFT_EYE_OUTSIDE][0]
    for pupil, outside, inside in ((F.RIGHT_PUPIL, F.RIGHT_EYE_OUTSIDE, F.RIGHT_EYE_INSIDE),
                                   (F.LEFT_PUPIL, F.LEFT_EYE_INSIDE, F.LEFT_EYE_OUTSIDE)):
        assert point[outside][0] < point[pupil][0] < point[inside][0], pupil  # between its corners
    eyes_y = max(point[i][1] for i in range(36, 48))
    assert eyes_y < point[F.NOSE][1] < point[F.MOUTH_INNER_TOP_2][1] < point[F.MENTON][1]
    assert point[F.MOUTH_OUTER_RIGHT][0] < point[F.MOUTH_OUTER_LEFT][0]
    assert point[F.RIGHT_EAR][0] < point[F.MENTON][0] < point[F.LEFT_EAR][0]

    # Images: REP-155's 128x128.
    for topic in ("cropped", "aligned"):
        image = next(m for m in received[topic] if m.header == header)
        assert (image.width, image.height, image.encoding) == (128, 128, "bgr8")
    aligned = np.frombuffer(next(m for m in received["aligned"] if m.header == header).data,
                            np.uint8).reshape(128, 128, 3).astype(float)
    cropped = np.frombuffer(next(m for m in received["cropped"] if m.header == header).data,
                            np.uint8).reshape(128, 128, 3).astype(float)
    # A face, not a blank square, and another cut than /cropped (test_aligned_face_levels_the_eyes
    # checks the levelling itself).
    assert aligned.std() > 20.0 and np.mean(np.abs(aligned - cropped)) > 10.0

    # TF: face_<id> under the image's frame, gaze_<id> under it, both stamped with the image.
    face_tf = tf.find(f"face_{face_id}", header.stamp)
    assert face_tf.header.frame_id == header.frame_id
    assert tf.find(f"gaze_{face_id}", header.stamp).header.frame_id == f"face_{face_id}"
    face = tf.lookup(header.frame_id, f"face_{face_id}", header.stamp)
    gaze = tf.lookup(header.frame_id, f"gaze_{face_id}", header.stamp)
    np.testing.assert_allclose(gaze[:3, 3], face[:3, 3], atol=1e-9)  # collocated
    np.testing.assert_allclose(gaze[:3, :3].T @ gaze[:3, :3], np.eye(3), atol=1e-6)  # a rotation
    # The gaze frame's z follows the eyes, not the head: toward the eyes' true direction (the
    # tolerance is the error scripts/measurements/measure_gaze.py measures on such renders, with a margin).
    true_gaze = TRUE_ROTATION @ head_render.gaze_direction_in_face(EYES_YAW_DEG, 0.0)
    gaze_error = np.degrees(np.arccos(np.clip(gaze[:3, 2] @ true_gaze, -1, 1)))
    head_to_truth = np.degrees(np.arccos(np.clip(face[:3, 0] @ true_gaze, -1, 1)))
    assert gaze_error < 22.0 and gaze_error < head_to_truth, (gaze_error, head_to_truth)
    assert gaze[:3, 0] @ face[:3, 1] < 0  # x toward the person's right
    # The pose itself, against the render's truth (mean-face model and a rendered head: the
    # tolerances are the error scripts/measurements/measure_head_pose.py measures, with a margin).
    assert hp.rotation_angle_deg(TRUE_ROTATION, face[:3, :3]) < 20.0
    assert np.linalg.norm(face[:3, 3] - TRUE_TRANSLATION) < 0.2 * TRUE_TRANSLATION[2]
    assert face[:3, 0] @ -face[:3, 3] > 0  # it faces the camera
    # The same position and gaze in our own message.
    attributes = probe.attributes_for(header).faces[0]
    position = attributes.position
    np.testing.assert_allclose([position.x, position.y, position.z], face[:3, 3], atol=1e-5)
    direction = attributes.gaze_direction
    np.testing.assert_allclose([direction.x, direction.y, direction.z], gaze[:3, 2], atol=1e-5)
    to_camera = -face[:3, 3] / np.linalg.norm(face[:3, 3])
    assert attributes.gaze_angle_to_camera == pytest.approx(np.degrees(np.arccos(gaze[:3, 2] @ to_camera)), abs=1e-3)
    assert attributes.looking_at_camera == (attributes.gaze_angle_to_camera <= 15.0)
    assert 0.0 <= attributes.mouth_open < 0.5
    for topic in FACE_TOPICS:  # every message carries the image's header
        assert all(m.header.frame_id == header.frame_id for m in received[topic])

    # A frame exists while the face is tracked: one missed frame (max_missed_frames 1) keeps
    # the track and its frame; the next drops both.
    missed = send(background(WIDTH, HEIGHT, 1))
    assert wait_for(lambda: any(m.header == missed for m in tracked))
    assert next(m for m in tracked if m.header == missed).ids == [face_id]
    assert wait_for(lambda: tf.lookup(missed.frame_id, f"gaze_{face_id}", missed.stamp) is not None)
    gone = send(background(WIDTH, HEIGHT, 2))
    assert wait_for(lambda: any(m.header == gone and m.ids == [] for m in tracked))
    assert wait_for(lambda: probe.attributes_for(gone) is not None)
    assert tf.find(f"face_{face_id}", gone.stamp) is None


@pytest.mark.ros
@needs_interfaces
def test_without_camera_info_no_frames_and_nan_positions(ros_graph, rendered_face, capfd):
    node, probe = ros_graph({"hri.enabled": True, "detection.backend": "blazeface"})
    tf = TfListener(probe.node)
    landmarks: list = []
    tracked: list[IdsList] = []
    probe.node.create_subscription(IdsList, "/humans/faces/tracked", tracked.append, DEFAULT_QOS)
    assert wait_for(lambda: node.count_subscribers("/tf") > 0)
    headers = []
    for _ in range(3):
        headers.append(probe.header())
        probe.image_pub.publish(image_message(rendered_face, headers[-1]))
        assert wait_for(lambda: probe.attributes_for(headers[-1]) is not None)
        ids = next((m.ids for m in tracked if m.header == headers[-1]), [])
        if ids and not landmarks:
            probe.node.create_subscription(FacialLandmarks, f"/humans/faces/{ids[0]}/landmarks", landmarks.append,
                                           DEFAULT_QOS)
    face = probe.attributes_for(headers[-1]).faces[0]
    assert np.isnan(face.position.x) and np.isnan(face.position.y) and np.isnan(face.position.z)
    assert not tf.messages
    # Landmarks need no camera_info.
    assert wait_for(lambda: landmarks, timeout=3.0) or _send_until(probe, rendered_face, landmarks)
    log = capfd.readouterr().err
    assert log.count("no face positions or face frames: no camera_info received yet "
                     "(topic /camera/camera_info)") == 1, log


def _send_until(probe, image, received) -> bool:
    for _ in range(3):
        probe.image_pub.publish(image_message(image, probe.header()))
        if wait_for(lambda: received, timeout=2.0):
            return True
    return False


_WITHOUT_TF2_MSGS = """
import sys
sys.modules["tf2_msgs"] = None  # any `import tf2_msgs...` now raises ImportError
import rclpy
from rclpy.parameter import Parameter
from face_perception.ros.perception_node import PerceptionNode, StartupError
parameters = {parameters!r}
rclpy.init()
try:
    PerceptionNode(parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()])
except StartupError as error:
    print("REFUSED", error)
node = PerceptionNode(parameter_overrides=[Parameter(k, value=v) for k, v in
                                           {{**parameters, "head_pose.enabled": False}}.items()])
print("STARTED", "TF2_MSGS_IMPORTED", any(m.startswith("tf2_msgs.") for m in sys.modules))
node.destroy_node()
rclpy.shutdown()
"""


@pytest.mark.ros
@needs_interfaces
def test_face_frames_need_tf2_msgs_only_when_on(model_parameters):
    script = _WITHOUT_TF2_MSGS.format(parameters={**model_parameters, "hri.enabled": True})
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert "REFUSED parameters 'hri.enabled' and 'head_pose.enabled' are true but tf2_msgs" in done.stdout
    assert "STARTED TF2_MSGS_IMPORTED False" in done.stdout


def test_aligned_face_levels_the_eyes(astronaut_bgr):
    if hri_output is None:
        pytest.skip("hri_msgs is not installed")
    from face_perception.detection.blazeface import BlazeFaceDetector

    def eye_angle(keypoints) -> float:
        (rx, ry), (lx, ly) = keypoints[:2]
        return float(np.degrees(np.arctan2(ly - ry, lx - rx)))

    detector = BlazeFaceDetector("short_range", 0.3, 2.0)
    checker = BlazeFaceDetector("full_range", 0.3, 2.0)  # another model re-reads the aligned faces
    for roll in (-30.0, 25.0):  # the photo rolled about the face: eyes at about -20 and +35 degrees
        rotation = cv2.getRotationMatrix2D((220.0, 120.0), roll, 1.0)
        tilted = cv2.warpAffine(astronaut_bgr, rotation, (512, 512), borderMode=cv2.BORDER_REPLICATE)
        keypoints = detector.detect(tilted)[0].keypoints
        aligned = hri_output.aligned_face(tilted, keypoints)
        assert aligned.shape == (128, 128, 3)
        found = checker.detect(aligned)
        assert found, roll
        # BlazeFace's eye keypoints move by a pixel or two between two passes (a few degrees
        # at this eye distance): level within that.
        assert abs(eye_angle(keypoints)) > 15.0
        assert abs(eye_angle(found[0].keypoints)) < 6.0, (roll, eye_angle(keypoints))
        # The whole face is in the square: eyes in the upper half, mouth in the lower, both
        # ears inside, the face about a third of the side wide.
        (rx, ry), (lx, ly), _, (mx, my), (rex, _), (lex, _) = found[0].keypoints
        assert max(ry, ly) < 64 < my < 110 and 0 < rex < lex < 128 and 30 < lx - rx < 60
