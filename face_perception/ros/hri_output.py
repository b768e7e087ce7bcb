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
ROS4HRI (REP-155) face topics, published beside the node's own outputs when hri.enabled.

Per frame: ``humans/faces/tracked`` (hri_msgs/IdsList, relative) lists every live track; for
each face seen in the frame, ``/humans/faces/<id>/roi``, ``softbiometrics`` and ``expression``,
``landmarks`` when the face has a mesh or keypoints, and ``cropped`` and ``aligned`` while someone
subscribes to them; with head poses, the ``face_<id>`` and ``gaze_<id>`` frames on /tf
(face_perception.ros.face_frames). A face's publishers are created when its track appears and
destroyed when the tracker drops it, so ``ros2 topic list`` shows only live faces. Every
message carries the camera image's header (so its frame_id).

In the root namespace the list is the robot's ``/humans/faces/tracked`` (one camera). Under
a namespace (one node per camera) it is that camera's list, ``/front/humans/faces/tracked``,
which ``hri_aggregator_node`` merges into the robot's one list; the per-face topics stay
absolute, and ids start with the namespace (``front_``) so two cameras' ids never collide.

This module imports hri_msgs; the node imports it only with hri.enabled true, so hri_msgs
is needed only then.
"""
from __future__ import annotations

from dataclasses import dataclass
import math
import secrets
import string
from typing import Mapping, Sequence, TYPE_CHECKING

import cv2
from hri_msgs.msg import (
    Expression,
    FacialLandmarks,
    IdsList,
    NormalizedPointOfInterest2D,
    NormalizedRegionOfInterest2D,
    SoftBiometrics,
)
import numpy as np
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from face_perception.classification.age_groups import group_index
from face_perception.classification.framing import EyesMouthFraming
from face_perception.detection.detection import KEYPOINT_NAMES
from face_perception.detection.landmarks import ibug68
from face_perception.ros import ros_messages
from face_perception.ros.topics import HRI_FACES_NAMESPACE, HRI_INSTANCE_TRACKED_TOPIC

if TYPE_CHECKING:
    from face_perception.geometry.head_pose import HeadPose
    from face_perception.pipeline.pipeline import FaceResult, FrameResult
    from face_perception.ros.face_frames import FaceFramesPublisher

TRACKED_TOPIC = HRI_INSTANCE_TRACKED_TOPIC
FACES_NAMESPACE = HRI_FACES_NAMESPACE
# REP-155's default /humans/faces/width and /humans/faces/height.
CROPPED_SIZE = 128
# Reliable (ROS 2's default; what libhri/pyhri subscribe with, and a reliable publisher also
# serves best-effort subscribers), newest message only: every topic here is current state.
# Also for /cropped: a sensor-data (best-effort) publisher would never match libhri.
STATE_QOS = QoSProfile(depth=1)

# Our FER-2013 labels -> hri_msgs/Expression constants.
EXPRESSIONS = {
    "angry": Expression.ANGRY,
    "disgust": Expression.DISGUSTED,
    "fear": Expression.SCARED,
    "happy": Expression.HAPPY,
    "sad": Expression.SAD,
    "surprise": Expression.SURPRISED,
    "neutral": Expression.NEUTRAL,
}
# (valence, arousal) of each class in [-1, 1], our reading of where these emotions sit on
# Russell's circumplex model of affect; a face's valence/arousal is their mean weighted by
# the smoothed class probabilities, so it moves smoothly between classes.
VALENCE_AROUSAL = {
    "angry": (-0.6, 0.7),
    "disgust": (-0.7, 0.3),
    "fear": (-0.6, 0.6),
    "happy": (0.8, 0.4),
    "sad": (-0.7, -0.4),
    "surprise": (0.2, 0.8),
    "neutral": (0.0, 0.0),
}
GENDERS = {"female": SoftBiometrics.FEMALE, "male": SoftBiometrics.MALE}
# Our six keypoints -> the nearest of FacialLandmarks' 70 (dlib/OpenPose) indices; the others
# get c = 0. BlazeFace's eye keypoint is the eye's centre (the pupil), its mouth keypoint the
# middle of the mouth (62 and 66, the inner lips' midpoints, are equally near for a closed
# mouth), its ear keypoint the tragion (0 and 16 are the face outline's ends at the ears).
LANDMARK_INDICES = {
    "right_eye": FacialLandmarks.RIGHT_PUPIL,  # 68
    "left_eye": FacialLandmarks.LEFT_PUPIL,  # 69
    "nose_tip": FacialLandmarks.NOSE,  # 30
    "mouth_center": FacialLandmarks.MOUTH_INNER_TOP_2,  # 62
    "right_ear_tragion": FacialLandmarks.RIGHT_EAR,  # 0
    "left_ear_tragion": FacialLandmarks.LEFT_EAR,  # 16
}
NUM_LANDMARKS = 70
# /aligned: eyes levelled, the whole face (forehead to chin, ear to ear) in the square: its
# side is 3 face scales (eye distance, or eye-to-mouth distance if larger), its centre a
# third of the way from the eyes' midpoint to the mouth.
ALIGNED_FRAMING = EyesMouthFraming(size=3.0, center=0.33, eye_mouth_ratio=1.0)


def random_id_tag() -> str:
    """
    Return three random lowercase letters that start every id of this run.

    Three random lowercase letters: start every id of this run with a letter (ROS names
    cannot start with a digit) and tell this run's ids from an earlier run's.
    """
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(3))


def namespace_id_prefix(namespace: str) -> str:
    """
    Return the start of every id of a node in ``namespace``.

    Start of every id of a node in ``namespace``: "" in the root namespace (ids as they
    always were), ``front_`` in ``/front``, ``robot_front_`` in ``/robot/front``. Namespaces
    are unique per camera, so the ids of two cameras never collide, whatever their tags.
    """
    tokens = [token for token in namespace.split("/") if token]
    return "".join(f"{token}_" for token in tokens)


def rep155_id(track_id: str, tag: str) -> str:
    """Short face id for a track: ``face_12`` -> ``<tag>12``; stable for the track's life."""
    return tag + track_id.rpartition("_")[2]


def valence_arousal(probabilities: Sequence[float], labels: Sequence[str]) -> tuple[float, float]:
    """Probability-weighted mean of the classes' (valence, arousal), clipped to [-1, 1]."""
    weights = np.asarray(probabilities, dtype=np.float64)
    points = np.array([VALENCE_AROUSAL[label] for label in labels], dtype=np.float64)
    total = weights.sum()
    if not total > 0.0:
        return 0.0, 0.0
    valence, arousal = np.clip(weights @ points / total, -1.0, 1.0)
    return float(valence), float(arousal)


def normalized_roi(face: "FaceResult", image_size: tuple[int, int], header: Header) -> NormalizedRegionOfInterest2D:
    width, height = image_size
    x, y, w, h = face.box
    return NormalizedRegionOfInterest2D(
        header=header,
        xmin=float(np.clip(x / width, 0.0, 1.0)),
        ymin=float(np.clip(y / height, 0.0, 1.0)),
        xmax=float(np.clip((x + w) / width, 0.0, 1.0)),
        ymax=float(np.clip((y + h) / height, 0.0, 1.0)),
        c=float(face.detection_confidence),
    )


def soft_biometrics(face: "FaceResult", header: Header) -> SoftBiometrics:
    """
    Return the SoftBiometrics of a face: age in whole years and gender.

    Age rounded to whole years (the field is uint8): 0 with confidence 0 without an age
    model. ``age_confidence`` is the probability of the FairFace age group (FaceAttributes'
    AGE_GROUP_*) that holds that age: how likely the true age is within the same group as
    the published years. Gender "unknown" (below gender_min_confidence) is UNDEFINED; its
    confidence is still the probability of the more likely gender, as in FaceAttributes.
    """
    age, gender = face.outputs.get("age"), face.outputs["gender"]
    has_age = age is not None and math.isfinite(age.value)
    years = int(np.clip(round(age.value), 0, 255)) if has_age else 0
    return SoftBiometrics(
        header=header,
        age=years,
        age_confidence=ros_messages.age_group_probabilities(age)[group_index(years)] if has_age else 0.0,
        gender=GENDERS.get(gender.label, SoftBiometrics.UNDEFINED),
        gender_confidence=float(gender.confidence),
    )


def expression(face: "FaceResult", header: Header) -> Expression:
    emotion = face.outputs["emotion"]
    valence, arousal = valence_arousal(emotion.probabilities, emotion.labels)
    return Expression(
        header=header,
        expression=EXPRESSIONS[emotion.label],
        valence=valence,
        arousal=arousal,
        confidence=float(emotion.confidence),
    )


def facial_landmarks(face: "FaceResult", image_size: tuple[int, int], header: Header) -> FacialLandmarks | None:
    """
    Return the face's landmarks at their REP-155 indices, normalised by the image size.

    With a face mesh: all 70, the 68 iBUG 300-W points mapped from the mesh
    (:data:`face_perception.detection.landmarks.IBUG68_FROM_MESH`) and the pupils (68, 69) from
    the iris model, ``c`` = the mesh's face-presence probability; without irises the pupils
    are the detector's eye keypoints, as below. Without a mesh: the detector's six keypoints
    at their indices (:data:`LANDMARK_INDICES`) with the detection confidence as ``c``, 0 for
    the other indices. A point outside the image (BlazeFace places a hidden ear there) is
    clipped to the edge with ``c`` = 0. None with neither.
    """
    if face.keypoints is None and face.landmarks is None:
        return None
    width, height = image_size
    landmarks = [NormalizedPointOfInterest2D(x=0.0, y=0.0, c=0.0) for _ in range(NUM_LANDMARKS)]

    def put(index: int, x: float, y: float, confidence: float) -> None:
        inside = 0.0 <= x <= width and 0.0 <= y <= height
        landmarks[index] = NormalizedPointOfInterest2D(x=float(np.clip(x / width, 0.0, 1.0)),
                                                       y=float(np.clip(y / height, 0.0, 1.0)),
                                                       c=float(confidence) if inside else 0.0)

    if face.landmarks is None or face.landmarks.right_eye is None or face.landmarks.left_eye is None:
        for name, (x, y) in zip(KEYPOINT_NAMES, face.keypoints or ()):
            # A keypoint the detector does not measure (NaN: YuNet's ears) keeps c = 0.
            if (face.landmarks is None or LANDMARK_INDICES[name] >= 68) and math.isfinite(x) and math.isfinite(y):
                put(LANDMARK_INDICES[name], x, y, face.detection_confidence)
    if face.landmarks is not None:
        score = face.landmarks.score
        for index, (x, y) in enumerate(ibug68(face.landmarks.points)):
            put(index, x, y, score)
        for index, eye in ((FacialLandmarks.RIGHT_PUPIL, face.landmarks.right_eye),
                           (FacialLandmarks.LEFT_PUPIL, face.landmarks.left_eye)):
            if eye is not None:
                put(index, *eye.iris_centre, score)
    return FacialLandmarks(header=header, landmarks=landmarks, width=int(width), height=int(height))


def aligned_face(bgr: np.ndarray, keypoints: Sequence[Sequence[float]], size: int = CROPPED_SIZE) -> np.ndarray:
    """Return the face with its eyes levelled, ``size`` x ``size`` (:data:`ALIGNED_FRAMING`)."""
    return ALIGNED_FRAMING.cut_keypoints(bgr, np.asarray(keypoints, np.float64), size, size)


def cropped_face(bgr: np.ndarray, box: tuple[int, int, int, int], size: int = CROPPED_SIZE) -> np.ndarray:
    """Return the face box, scaled to fit ``size`` x ``size``, centred and zero-padded (REP-155)."""
    x, y, w, h = (int(v) for v in box)
    crop = bgr[max(0, y): y + h, max(0, x): x + w]
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    if crop.size == 0:
        return canvas
    scale = size / max(crop.shape[0], crop.shape[1])
    new_w = max(1, min(size, round(crop.shape[1] * scale)))
    new_h = max(1, min(size, round(crop.shape[0] * scale)))
    resized = cv2.resize(crop, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top: top + new_h, left: left + new_w] = resized
    return canvas


@dataclass
class _FacePublishers:
    roi: Publisher
    cropped: Publisher
    softbiometrics: Publisher
    expression: Publisher
    landmarks: Publisher
    aligned: Publisher

    def all(self) -> tuple[Publisher, ...]:  # noqa: A003 (a method: the builtin stays usable)
        return (self.roi, self.cropped, self.softbiometrics, self.expression, self.landmarks, self.aligned)


class HriFaceOutput:
    """Publishes a node's face results on the REP-155 face topics (not thread-safe: one thread calls publish)."""

    def __init__(self, node: Node, id_tag: str | None = None, frames: "FaceFramesPublisher | None" = None) -> None:
        self._node = node
        # The namespace part keeps cameras apart; the random part, runs of one camera.
        self.id_tag = namespace_id_prefix(node.get_namespace()) + (id_tag or random_id_tag())
        self._frames = frames  # the face_<id>/gaze_<id> TF broadcaster, with head poses
        self._tracked_pub = node.create_publisher(IdsList, TRACKED_TOPIC, STATE_QOS)
        self._faces: dict[str, _FacePublishers] = {}  # REP-155 id -> its publishers

    @property
    def face_ids(self) -> tuple[str, ...]:
        """Ids that currently have publishers."""
        return tuple(self._faces)

    def face_id(self, track_id: str) -> str:
        return rep155_id(track_id, self.id_tag)

    def publish(self, result: "FrameResult", header: Header, bgr: np.ndarray,
                poses: "Mapping[str, HeadPose] | None" = None,
                gaze_frames: "Mapping[str, np.ndarray] | None" = None) -> None:
        """
        Return this frame's messages.

        Return this frame's messages; ``poses``: track id -> head pose of the live tracks that
        have one (also tracks missed in this frame: a frame stays while its face is tracked);
        ``gaze_frames``: track id -> the gaze frame's axes in the face frame, for faces whose
        eyes gave a gaze (the others' gaze frame follows the head).
        """
        gaze_frames = gaze_frames or {}
        live = [self.face_id(track_id) for track_id in result.live_track_ids]
        self._update_publishers(live)
        self._tracked_pub.publish(IdsList(header=header, ids=live))
        for face in result.faces:
            publishers = self._faces[self.face_id(face.track_id)]  # a face's track is always live
            publishers.roi.publish(normalized_roi(face, result.image_size, header))
            publishers.softbiometrics.publish(soft_biometrics(face, header))
            publishers.expression.publish(expression(face, header))
            landmarks = facial_landmarks(face, result.image_size, header)
            if landmarks is not None:
                publishers.landmarks.publish(landmarks)
            if publishers.cropped.get_subscription_count() > 0:
                publishers.cropped.publish(ros_messages.image_msg_with_header(cropped_face(bgr, face.box), header))
            if face.keypoints is not None and publishers.aligned.get_subscription_count() > 0:
                aligned = aligned_face(bgr, face.keypoints)
                publishers.aligned.publish(ros_messages.image_msg_with_header(aligned, header))
        if self._frames is not None and poses:
            self._frames.publish(header, [(self.face_id(track_id), pose, gaze_frames.get(track_id))
                                          for track_id, pose in poses.items() if self.face_id(track_id) in self._faces])

    def close(self) -> None:
        """Destroys every per-face publisher and the tracked list's."""
        self._update_publishers([])
        self._node.destroy_publisher(self._tracked_pub)

    def _update_publishers(self, live_ids: Sequence[str]) -> None:
        for face_id in set(self._faces) - set(live_ids):
            for publisher in self._faces.pop(face_id).all():
                self._node.destroy_publisher(publisher)
        for face_id in live_ids:
            if face_id not in self._faces:
                self._faces[face_id] = self._create(face_id)

    def _create(self, face_id: str) -> _FacePublishers:
        base = f"{FACES_NAMESPACE}/{face_id}"
        create = self._node.create_publisher
        return _FacePublishers(
            roi=create(NormalizedRegionOfInterest2D, f"{base}/roi", STATE_QOS),
            cropped=create(Image, f"{base}/cropped", STATE_QOS),  # 128x128x3: 49 kB, fine reliably
            softbiometrics=create(SoftBiometrics, f"{base}/softbiometrics", STATE_QOS),
            expression=create(Expression, f"{base}/expression", STATE_QOS),
            landmarks=create(FacialLandmarks, f"{base}/landmarks", STATE_QOS),
            aligned=create(Image, f"{base}/aligned", STATE_QOS),  # like /cropped
        )
