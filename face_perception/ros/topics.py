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
Every topic name of the package, in one place.

The node's own topics are relative names, so a namespace (``__ns:=/front``, the launch
file's ``namespace:=front``, or one entry of a cameras file) moves them: in the root
namespace they resolve to today's ``/faces/attributes`` etc. The input topic is relative
too, as ``image_transport`` users expect (``camera/image_raw`` is ``/front/camera/image_raw``
under ``/front``); an absolute ``image_topic`` stays where it points. ``/diagnostics`` and the
REP-155 per-face topics stay absolute, as their conventions say.

REP-155 has one ``/humans/faces/tracked`` list per robot. Each perception node publishes
its own list on the relative :data:`HRI_INSTANCE_TRACKED_TOPIC`: in the root namespace that
is the robot's list itself (one camera, as before); under a namespace it is one camera's
list, and ``hri_aggregator_node`` merges those into :data:`HRI_TRACKED_TOPIC`.
"""
from __future__ import annotations

# The input's default is the image_topic parameter's, defined with it in the parameter table.
from face_perception.parameters import DEFAULT_IMAGE_TOPIC  # noqa: F401 (one import place for topic names)

ATTRIBUTES_TOPIC = "faces/attributes"
ANNOTATED_TOPIC = "faces/annotated_image"
DETECTIONS_TOPIC = "faces/detections"
DIAGNOSTICS_TOPIC = "/diagnostics"

HRI_TRACKED_TOPIC = "/humans/faces/tracked"
HRI_INSTANCE_TRACKED_TOPIC = "humans/faces/tracked"
HRI_FACES_NAMESPACE = "/humans/faces"


def resolve(topic: str, namespace: str) -> str:
    """
    Resolve ``topic`` as ROS does for a node in ``namespace``.

    ``topic`` as ROS resolves it for a node in ``namespace`` ("" or "/" = the root);
    no remapping, no ``~`` (the package uses neither for these names).
    """
    if topic.startswith("/"):
        return topic
    namespace = namespace.rstrip("/")
    return f"{namespace}/{topic}" if namespace else f"/{topic}"
