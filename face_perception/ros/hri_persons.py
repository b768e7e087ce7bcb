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
ROS4HRI (REP-155) person topics, with hri.enabled and identity.enabled.

``humans/persons/tracked`` (hri_msgs/IdsList, relative like the faces' list: the robot's
``/humans/persons/tracked`` in the root namespace) every frame: the persons of the live
tracks. ``humans/persons/known`` (IdsList) every ``KNOWN_PERIOD_S`` (on a timer, frames or
not): every stored person.
``/humans/persons/<id>/face_id`` (std_msgs/String, the REP-155 face id; "" once the person's
face is no longer tracked) and ``/humans/persons/<id>/anonymous`` (std_msgs/Bool) for each
person tracked in this run, on change and every ``KNOWN_PERIOD_S`` (late subscribers with
volatile QoS, as libhri's, get them too). ``/humans/candidate_matches`` (hri_msgs/IdsMatch):
face -> person with the match confidence when a track gets its person, confidence 0 when
the face leaves (REP-155's "not associated").
"""
from __future__ import annotations

from dataclasses import dataclass
import time
from typing import Callable, Mapping

from hri_msgs.msg import IdsList, IdsMatch
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile
from std_msgs.msg import Bool, Header, String

from face_perception.identity.person_matching import PersonMatch

PERSONS_TRACKED_TOPIC = "humans/persons/tracked"
PERSONS_KNOWN_TOPIC = "humans/persons/known"
PERSONS_NAMESPACE = "/humans/persons"
CANDIDATE_MATCHES_TOPIC = "/humans/candidate_matches"
KNOWN_PERIOD_S = 1.0
STATE_QOS = QoSProfile(depth=1)
# Latched per-person state: a transient-local publisher also serves volatile subscribers.
LATCHED_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@dataclass
class _PersonPublishers:
    face_id: Publisher
    anonymous: Publisher
    current_face: str = ""
    anonymous_value: bool = True


class HriPersonOutput:
    """Publishes the REP-155 person topics of one node (one thread calls publish)."""

    def __init__(self, node: Node, known_ids: Callable[[], list[str]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._node = node
        self._known_ids = known_ids
        self._clock = clock
        self._tracked_pub = node.create_publisher(IdsList, PERSONS_TRACKED_TOPIC, STATE_QOS)
        self._known_pub = node.create_publisher(IdsList, PERSONS_KNOWN_TOPIC, STATE_QOS)
        self._matches_pub = node.create_publisher(IdsMatch, CANDIDATE_MATCHES_TOPIC, QoSProfile(depth=10))
        self._persons: dict[str, _PersonPublishers] = {}  # every person tracked in this run
        self._next_refresh = 0.0

    def publish(self, persons: Mapping[str, PersonMatch], face_id_of: Callable[[str], str], header: Header) -> None:
        """``persons``: live track id -> its person (FrameResult.live_persons)."""
        faces = {match.person_id: (face_id_of(track_id), match) for track_id, match in persons.items()}
        self._tracked_pub.publish(IdsList(header=header, ids=sorted(faces)))
        refresh = self._clock() >= self._next_refresh
        for person_id, (face_id, match) in faces.items():
            publishers = self._persons.get(person_id)
            if publishers is None:
                publishers = self._persons[person_id] = self._create(person_id)
            changed = publishers.current_face != face_id or publishers.anonymous_value != (not match.name)
            if publishers.current_face != face_id:
                self._matches_pub.publish(IdsMatch(id1=face_id, id1_type=IdsMatch.FACE, id2=person_id,
                                                   id2_type=IdsMatch.PERSON, confidence=float(match.confidence)))
            publishers.current_face, publishers.anonymous_value = face_id, not match.name
            if changed or refresh:
                self._publish_state(publishers)
        for person_id, publishers in self._persons.items():
            if person_id not in faces and publishers.current_face:
                self._matches_pub.publish(IdsMatch(id1=publishers.current_face, id1_type=IdsMatch.FACE, id2=person_id,
                                                   id2_type=IdsMatch.PERSON, confidence=0.0))
                publishers.current_face = ""
                self._publish_state(publishers)
            elif person_id not in faces and refresh:
                self._publish_state(publishers)
        if refresh:
            self._next_refresh = self._clock() + KNOWN_PERIOD_S

    def publish_known(self, header: Header) -> None:
        """Publish every stored person's id (the node's timer calls it every KNOWN_PERIOD_S)."""
        self._known_pub.publish(IdsList(header=header, ids=sorted(self._known_ids())))

    def close(self) -> None:
        for publishers in self._persons.values():
            self._node.destroy_publisher(publishers.face_id)
            self._node.destroy_publisher(publishers.anonymous)
        for publisher in (self._tracked_pub, self._known_pub, self._matches_pub):
            self._node.destroy_publisher(publisher)

    @staticmethod
    def _publish_state(publishers: _PersonPublishers) -> None:
        publishers.face_id.publish(String(data=publishers.current_face))
        publishers.anonymous.publish(Bool(data=publishers.anonymous_value))

    def _create(self, person_id: str) -> _PersonPublishers:
        base = f"{PERSONS_NAMESPACE}/{person_id}"
        return _PersonPublishers(self._node.create_publisher(String, f"{base}/face_id", LATCHED_QOS),
                                 self._node.create_publisher(Bool, f"{base}/anonymous", LATCHED_QOS))
