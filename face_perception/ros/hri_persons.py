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
ROS4HRI (REP-155) person topics, with hri.enabled and identity.enabled or engagement.enabled.

With identity.enabled the persons are the database's; without it (and engagement.enabled),
every tracked face is an anonymous person (:func:`anonymous_person_id`) that exists as long as
its track: its topics go with the track, and ``known`` is the ``tracked`` list, published with it.
No biometric data is computed or stored for those.

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
With engagement levels: ``/humans/persons/<id>/engagement_status`` (hri_msgs/EngagementLevel,
the image's header) of each tracked person every frame. :class:`HriProxemicsOutput`:
``humans/persons/in_{personal,social,public}_space`` (IdsList, relative like ``tracked``).
"""
from __future__ import annotations

from dataclasses import dataclass
import time
from typing import Callable, Mapping, Sequence

from hri_msgs.msg import EngagementLevel, IdsList, IdsMatch
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile
from std_msgs.msg import Bool, Header, String

from face_perception.identity.person_matching import PersonMatch

PERSONS_TRACKED_TOPIC = "humans/persons/tracked"
PERSONS_KNOWN_TOPIC = "humans/persons/known"
PERSONS_NAMESPACE = "/humans/persons"
CANDIDATE_MATCHES_TOPIC = "/humans/candidate_matches"
PROXEMICS_TOPICS = {zone: f"humans/persons/in_{zone}_space" for zone in ("personal", "social", "public")}
KNOWN_PERIOD_S = 1.0
ANONYMOUS_PREFIX = "anon_"
STATE_QOS = QoSProfile(depth=1)
# Latched per-person state: a transient-local publisher also serves volatile subscribers.
LATCHED_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def anonymous_person_id(face_id: str) -> str:
    """Return the anonymous person of a tracked face (identity off): unique per robot as face ids are."""
    return ANONYMOUS_PREFIX + face_id


def anonymous_persons(live_track_ids: Sequence[str], face_id_of: Callable[[str], str]) -> dict[str, PersonMatch]:
    """Return live track id -> its anonymous person, in the shape identity gives (FrameResult.live_persons)."""
    return {track_id: PersonMatch(anonymous_person_id(face_id_of(track_id)), "", 0.0, 1.0, False)
            for track_id in live_track_ids}


@dataclass
class _PersonPublishers:
    face_id: Publisher
    anonymous: Publisher
    engagement: Publisher | None = None
    current_face: str = ""
    anonymous_value: bool = True


class HriPersonOutput:
    """Publishes the REP-155 person topics of one node (one thread calls publish)."""

    def __init__(self, node: Node, known_ids: Callable[[], list[str]],
                 clock: Callable[[], float] = time.monotonic, transient: bool = False,
                 engagement: bool = False) -> None:
        """``transient``: persons live as long as their track (anonymous ones); ``engagement``: publish their level."""
        self._node = node
        self._known_ids = known_ids
        self._transient = transient
        self._engagement = engagement
        self._clock = clock
        self._tracked_pub = node.create_publisher(IdsList, PERSONS_TRACKED_TOPIC, STATE_QOS)
        self._known_pub = node.create_publisher(IdsList, PERSONS_KNOWN_TOPIC, STATE_QOS)
        self._matches_pub = node.create_publisher(IdsMatch, CANDIDATE_MATCHES_TOPIC, QoSProfile(depth=10))
        self._persons: dict[str, _PersonPublishers] = {}  # every person tracked in this run
        self._next_refresh = 0.0

    def publish(self, persons: Mapping[str, PersonMatch], face_id_of: Callable[[str], str], header: Header,
                levels: Mapping[str, int] | None = None) -> None:
        """
        Publish this frame's persons.

        ``persons``: live track id -> its person (FrameResult.live_persons, or
        :func:`anonymous_persons`); ``levels``: track id -> its hri_msgs/EngagementLevel level.
        """
        faces = {match.person_id: (face_id_of(track_id), match) for track_id, match in persons.items()}
        self._tracked_pub.publish(IdsList(header=header, ids=sorted(faces)))
        if self._transient:
            self.publish_known(header, sorted(faces))
            self._drop_gone(faces)
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
        if self._engagement:
            for track_id, match in persons.items():
                publishers = self._persons[match.person_id]
                level = (levels or {}).get(track_id, EngagementLevel.UNKNOWN)
                publishers.engagement.publish(EngagementLevel(header=header, level=int(level)))
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

    def publish_known(self, header: Header, ids: Sequence[str] | None = None) -> None:
        """Publish every stored person's id (the node's timer calls it every KNOWN_PERIOD_S), or ``ids``."""
        self._known_pub.publish(IdsList(header=header, ids=sorted(self._known_ids() if ids is None else ids)))

    def _drop_gone(self, faces: Mapping[str, object]) -> None:
        """Transient persons: the track is gone, so is the person (its face unmatched, its topics destroyed)."""
        for person_id in [p for p in self._persons if p not in faces]:
            publishers = self._persons.pop(person_id)
            self._matches_pub.publish(IdsMatch(id1=publishers.current_face, id1_type=IdsMatch.FACE, id2=person_id,
                                               id2_type=IdsMatch.PERSON, confidence=0.0))
            self._destroy(publishers)

    def _destroy(self, publishers: _PersonPublishers) -> None:
        for publisher in (publishers.face_id, publishers.anonymous, publishers.engagement):
            if publisher is not None:
                self._node.destroy_publisher(publisher)

    def close(self) -> None:
        for publishers in self._persons.values():
            self._destroy(publishers)
        for publisher in (self._tracked_pub, self._known_pub, self._matches_pub):
            self._node.destroy_publisher(publisher)

    @staticmethod
    def _publish_state(publishers: _PersonPublishers) -> None:
        publishers.face_id.publish(String(data=publishers.current_face))
        publishers.anonymous.publish(Bool(data=publishers.anonymous_value))

    def _create(self, person_id: str) -> _PersonPublishers:
        base = f"{PERSONS_NAMESPACE}/{person_id}"
        engagement = (self._node.create_publisher(EngagementLevel, f"{base}/engagement_status", STATE_QOS)
                      if self._engagement else None)
        return _PersonPublishers(self._node.create_publisher(String, f"{base}/face_id", LATCHED_QOS),
                                 self._node.create_publisher(Bool, f"{base}/anonymous", LATCHED_QOS), engagement)


class HriProxemicsOutput:
    """Publishes which persons are in the robot's personal, social and public space (one thread calls publish)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._publishers = {zone: node.create_publisher(IdsList, topic, STATE_QOS)
                            for zone, topic in PROXEMICS_TOPICS.items()}

    def publish(self, lists: Mapping[str, Sequence[str]], header: Header) -> None:
        """Publish the three lists; ``lists``: zone ("personal", "social", "public") -> person ids (zone_lists)."""
        for zone, publisher in self._publishers.items():
            publisher.publish(IdsList(header=header, ids=list(lists.get(zone, ()))))

    def close(self) -> None:
        for publisher in self._publishers.values():
            self._node.destroy_publisher(publisher)
