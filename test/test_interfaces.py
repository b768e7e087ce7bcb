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

"""Our messages, and the vendored vision_msgs having the released package's layout."""
from __future__ import annotations

import json
from pathlib import Path
import sys

from face_perception_msgs.msg import FaceAttributes, FaceAttributesArray
import pytest

from face_perception.classification.classification import EMOTION_LABELS
from face_perception.ros.ros_messages import MESSAGE_EMOTION_ORDER

# Field layout of vision_msgs 4.x (Humble, Jazzy, Kilted), the part we build on pip-only
# installs. Type hashes are computed from exactly these names and types, so equal
# layouts give equal hashes and our messages interoperate with the real package.
VISION_MSGS_LAYOUT = {
    "Point2D": {"x": "double", "y": "double"},
    "Pose2D": {"position": "vision_msgs/Point2D", "theta": "double"},
    "BoundingBox2D": {"center": "vision_msgs/Pose2D", "size_x": "double", "size_y": "double"},
    "BoundingBox2DArray": {"header": "std_msgs/Header", "boxes": "sequence<vision_msgs/BoundingBox2D>"},
    "ObjectHypothesis": {"class_id": "string", "score": "double"},
    "ObjectHypothesisWithPose": {
        "hypothesis": "vision_msgs/ObjectHypothesis",
        "pose": "geometry_msgs/PoseWithCovariance",
    },
    "Detection2D": {
        "header": "std_msgs/Header",
        "results": "sequence<vision_msgs/ObjectHypothesisWithPose>",
        "bbox": "vision_msgs/BoundingBox2D",
        "id": "string",
    },
    "Detection2DArray": {"header": "std_msgs/Header", "detections": "sequence<vision_msgs/Detection2D>"},
}


@pytest.mark.parametrize("name", sorted(VISION_MSGS_LAYOUT))
def test_vision_msgs_field_layout_matches_the_released_package(name):
    import vision_msgs.msg

    message_class = getattr(vision_msgs.msg, name)
    assert message_class.get_fields_and_field_types() == VISION_MSGS_LAYOUT[name]


def test_vendored_type_hashes_are_recorded_for_every_message():
    # The generated type descriptions carry the RIHS01 hashes other nodes compare.
    share = Path(sys.prefix) / "share" / "vision_msgs" / "msg"
    if not (share / ".." / ".built_by_face_perception").exists():
        pytest.skip("vision_msgs comes from a ROS distro here, not from vendor/")
    for name in VISION_MSGS_LAYOUT:
        description = json.loads((share / f"{name}.json").read_text())
        hashes = {entry["type_name"]: entry["hash_string"] for entry in description["type_hashes"]}
        assert hashes[f"vision_msgs/msg/{name}"].startswith("RIHS01_")


def test_face_attributes_constants_and_probability_order():
    assert MESSAGE_EMOTION_ORDER == EMOTION_LABELS
    assert FaceAttributes.NUM_EMOTIONS == len(MESSAGE_EMOTION_ORDER)
    assert (FaceAttributes.GENDER_FEMALE, FaceAttributes.GENDER_MALE, FaceAttributes.GENDER_UNKNOWN) == (
        "female",
        "male",
        "unknown",
    )
    fields = FaceAttributes.get_fields_and_field_types()
    assert fields["emotion_probabilities"] == "float[7]"
    assert fields["emotion_probabilities_raw"] == "float[7]"
    assert fields["bbox"] == "sensor_msgs/RegionOfInterest"
    assert FaceAttributesArray.get_fields_and_field_types() == {
        "header": "std_msgs/Header",
        "faces": "sequence<face_perception_msgs/FaceAttributes>",
    }


def test_every_message_field_is_documented():
    root = Path(__file__).resolve().parent.parent / "face_perception_msgs" / "msg"
    for path in root.glob("*.msg"):
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or "=" in stripped:
                continue
            # A field: the line before it (or a block above it) must be a comment.
            assert lines[index - 1].strip().startswith("#"), f"{path.name}: field '{stripped}' has no comment"
