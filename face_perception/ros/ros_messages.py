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
Conversion between ROS messages and the pure-Python pipeline's data.

Everything ROS-typed lives here and in the node shell; the pipeline never sees a
message. Images go through :mod:`face_perception.ros.image_conversion` (numpy only,
since ROS 2 cv_bridge is not installable from PyPI); a face's model outputs
(:mod:`face_perception.classification.face_model`) become the messages' explicit fields here.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from face_perception_msgs.msg import FaceAttributes, FaceAttributesArray
from geometry_msgs.msg import Point, Vector3
import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, RegionOfInterest
from std_msgs.msg import Header
from vision_msgs.msg import BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesisWithPose

from face_perception.classification.face_model import ClassDistribution, ExpectedValue, FaceOutput
from face_perception.ros.image_conversion import (
    array_to_image_fields,
    decode_compressed,
    image_fields_to_array,
    to_bgr,
)

# The message's fixed emotion order: the EMOTION_* constants in declaration order.
MESSAGE_EMOTION_ORDER: tuple[str, ...] = (
    FaceAttributes.EMOTION_ANGRY,
    FaceAttributes.EMOTION_DISGUST,
    FaceAttributes.EMOTION_FEAR,
    FaceAttributes.EMOTION_HAPPY,
    FaceAttributes.EMOTION_SAD,
    FaceAttributes.EMOTION_SURPRISE,
    FaceAttributes.EMOTION_NEUTRAL,
)
# The message's fixed age group order: the AGE_GROUP_* constants in declaration order
# (the names of face_perception.classification.age_groups.AGE_GROUPS; a test keeps them equal).
MESSAGE_AGE_GROUP_ORDER: tuple[str, ...] = (
    FaceAttributes.AGE_GROUP_0_2,
    FaceAttributes.AGE_GROUP_3_9,
    FaceAttributes.AGE_GROUP_10_19,
    FaceAttributes.AGE_GROUP_20_29,
    FaceAttributes.AGE_GROUP_30_39,
    FaceAttributes.AGE_GROUP_40_49,
    FaceAttributes.AGE_GROUP_50_59,
    FaceAttributes.AGE_GROUP_60_69,
    FaceAttributes.AGE_GROUP_70_PLUS,
)


def image_msg_to_bgr(message: Image) -> np.ndarray:
    """BGR uint8 array of a sensor_msgs/Image; ImageConversionError on bad input."""
    array = image_fields_to_array(
        message.height, message.width, message.encoding, message.step, message.data, bool(message.is_bigendian)
    )
    return to_bgr(array, message.encoding)


def compressed_msg_to_bgr(message: CompressedImage) -> np.ndarray:
    return decode_compressed(message.format, message.data)


def bgr_to_image_msg(bgr: np.ndarray, stamp: Time, frame_id: str) -> Image:
    height, width, step, data = array_to_image_fields(bgr, "bgr8")
    return Image(
        header=Header(stamp=stamp, frame_id=frame_id),
        height=height,
        width=width,
        encoding="bgr8",
        is_bigendian=0,
        step=step,
        data=data,
    )


def camera_info_msg(header: Header, width: int, height: int, k: Sequence[float]) -> CameraInfo:
    """Return the CameraInfo of an undistorted pinhole camera with intrinsics ``k`` (row-major 3x3)."""
    fx, _, cx, _, fy, cy, _, _, _ = (float(value) for value in k)
    return CameraInfo(
        header=header,
        width=width,
        height=height,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=[float(value) for value in k],
        r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )


def image_msg_with_header(bgr: np.ndarray, header: Header) -> Image:
    """Return an annotated image carrying the source image's header unchanged."""
    return bgr_to_image_msg(bgr, header.stamp, header.frame_id)


def reorder_emotions(emotion: ClassDistribution) -> list[float]:
    """Return an emotion distribution's probabilities (in its card's label order) in the message's fixed order."""
    by_label = emotion.as_dict()
    missing = [label for label in MESSAGE_EMOTION_ORDER if label not in by_label]
    if missing or len(emotion.labels) != len(emotion.probabilities):
        raise ValueError(f"emotion probabilities for labels {list(emotion.labels)} cannot fill "
                         f"{list(MESSAGE_EMOTION_ORDER)}")
    return [float(by_label[label]) for label in MESSAGE_EMOTION_ORDER]


def age_group_probabilities(age: ExpectedValue | None) -> list[float]:
    """Return an age output's group probabilities in the message's fixed order (zeros without an age model)."""
    if age is None or not age.group_probabilities:
        return [0.0] * len(MESSAGE_AGE_GROUP_ORDER)
    by_group = dict(zip(age.group_labels, age.group_probabilities))
    return [float(by_group.get(group, 0.0)) for group in MESSAGE_AGE_GROUP_ORDER]


def check_emotion_labels(labels: Sequence[str]) -> None:
    """Refuse an emotion model whose labels are not exactly the message's classes."""
    if sorted(labels) != sorted(MESSAGE_EMOTION_ORDER):
        raise ValueError(
            f"emotion model labels {list(labels)} must be exactly {list(MESSAGE_EMOTION_ORDER)} (any order)"
        )


def face_attributes(face, position: Sequence[float] | None = None, gaze=None,
                    looking_threshold_deg: float = 15.0, engagement_level: int = 0) -> FaceAttributes:
    """
    Convert one pipeline FaceResult to a FaceAttributes message.

    The message's explicit fields from the face's outputs by name (without an age model: age
    and child_probability NaN, age_confidence and the group probabilities 0, age_group "",
    is_child false); ``position``: the face's x, y, z in metres in the camera frame,
    NaN when None; ``gaze``: its :class:`~face_perception.geometry.gaze.Gaze` (NaN and not
    looking when None), looking at the camera within ``looking_threshold_deg``;
    ``engagement_level``: the track's hri_msgs/EngagementLevel level (0 = unknown).
    """
    gender, emotion, age = face.outputs["gender"], face.outputs["emotion"], face.outputs.get("age")
    x, y, w, h = face.box
    message = FaceAttributes()
    message.track_id = face.track_id
    message.bbox = RegionOfInterest(x_offset=int(x), y_offset=int(y), width=int(w), height=int(h), do_rectify=False)
    message.detection_confidence = float(face.detection_confidence)
    message.gender = gender.label
    message.gender_confidence = float(gender.confidence)
    message.gender_female_probability = float(gender.as_dict()["female"])
    message.gender_female_probability_raw = float(face.raw_outputs["gender"].as_dict()["female"])
    message.emotion = emotion.label
    message.emotion_confidence = float(emotion.confidence)
    message.emotion_probabilities = reorder_emotions(emotion)
    message.emotion_probabilities_raw = reorder_emotions(face.raw_outputs["emotion"])
    message.age = math.nan if age is None else float(age.value)
    message.age_confidence = 0.0 if age is None else float(age.confidence)
    message.age_group = "" if age is None else age.group
    message.age_group_probabilities = age_group_probabilities(age)
    message.child_probability = math.nan if age is None else float(age.child_probability)
    message.is_child = age is not None and age.is_child
    message.track_age = int(face.track_age)
    x, y, z = (math.nan,) * 3 if position is None else (float(v) for v in position)
    message.position = Point(x=x, y=y, z=z)
    gx, gy, gz = (math.nan,) * 3 if gaze is None else (float(v) for v in gaze.direction)
    message.gaze_direction = Vector3(x=gx, y=gy, z=gz)
    message.gaze_angle_to_camera = math.nan if gaze is None else float(gaze.angle_to_camera_deg)
    message.looking_at_camera = gaze is not None and bool(gaze.looking_at_camera(looking_threshold_deg))
    message.mouth_open = float(face.mouth_open)
    message.engagement_level = int(engagement_level)
    if face.person is not None:
        message.person_id, message.person_name = face.person.person_id, face.person.name
        message.person_confidence = float(face.person.confidence)
    return message


def face_attributes_array(faces: Iterable, header: Header,
                          positions: Mapping[str, Sequence[float]] | None = None,
                          gazes: Mapping | None = None, looking_threshold_deg: float = 15.0,
                          levels: Mapping[str, int] | None = None) -> FaceAttributesArray:
    """
    Return the frame's FaceAttributesArray.

    ``positions``/``gazes``: track id -> the face's position / gaze in the camera frame (NaN
    for the others); ``levels``: track id -> its engagement level (unknown for the others).
    """
    positions, gazes, levels = positions or {}, gazes or {}, levels or {}
    return FaceAttributesArray(header=header, faces=[
        face_attributes(face, positions.get(face.track_id), gazes.get(face.track_id), looking_threshold_deg,
                        levels.get(face.track_id, 0))
        for face in faces])


def _hypothesis(class_id: str, score: float) -> ObjectHypothesisWithPose:
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = class_id
    hypothesis.hypothesis.score = float(score)
    return hypothesis


def output_scores(name: str, output: FaceOutput) -> dict[str, float]:
    """Return class -> smoothed probability of one output: a distribution's classes, an expected value's bands."""
    if isinstance(output, ExpectedValue):
        return output.bands()
    if name == "emotion":  # in the message's fixed order, as FaceAttributes.emotion_probabilities
        return dict(zip(MESSAGE_EMOTION_ORDER, reorder_emotions(output)))
    return output.as_dict()


def detection_array(faces: Iterable, header: Header) -> Detection2DArray:
    """
    Build the vision_msgs detections: one per face, with a hypothesis per class of every output.

    vision_msgs detections: one per face, one hypothesis per gender and emotion class and,
    with an age model, per age band (every model's output, in the pipeline's model order).

    class_id is '<attribute>/<label>' (e.g. 'gender/female', 'emotion/happy', 'age/18-39')
    with the smoothed probability as score, so generic vision_msgs consumers can rank classes.
    Age bands (not years) because a hypothesis is a class with a score; the years are in
    FaceAttributes.age.
    """
    detections = []
    for face in faces:
        x, y, w, h = face.box
        bbox = BoundingBox2D()
        bbox.center.position.x = float(x + w / 2.0)
        bbox.center.position.y = float(y + h / 2.0)
        bbox.size_x = float(w)
        bbox.size_y = float(h)
        results = [_hypothesis(f"{name}/{label}", score)
                   for name, output in face.outputs.items() for label, score in output_scores(name, output).items()]
        detections.append(Detection2D(header=header, results=results, bbox=bbox, id=face.track_id))
    return Detection2DArray(header=header, detections=detections)


def diagnostics(
    stamp: Time, node_name: str, values: dict[str, float | int | str], level: bytes, message: str
) -> DiagnosticArray:
    status = DiagnosticStatus(
        level=level,
        name=f"{node_name}: face perception",
        message=message,
        hardware_id=node_name,
        values=[KeyValue(key=key, value=str(value)) for key, value in values.items()],
    )
    return DiagnosticArray(header=Header(stamp=stamp), status=[status])
