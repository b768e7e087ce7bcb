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
One REP-155 face list for a robot with several cameras.

Subscribes:  tracked_topics (hri_msgs/IdsList), one per camera's perception node, e.g.
             /front/humans/faces/tracked and /rear/humans/faces/tracked
Publishes:   /humans/faces/tracked (hri_msgs/IdsList): the union of the cameras' newest
             lists, each time one of them arrives, and when a camera's list goes stale
             (source_timeout). Its header stamp is the stamp of the list that triggered it;
             its frame_id is empty, since the faces are in several cameras' frames (each
             face's own topics, /humans/faces/<id>/..., carry its camera's frame_id).
             /humans/persons/tracked and /humans/persons/known (IdsList), the same way, from
             each camera's humans/persons/tracked and known beside its faces list (nodes
             with identity.enabled: cameras sharing one database share person ids, and a
             person seen by two cameras is listed once; or engagement.enabled: an anonymous
             person per face), and /humans/persons/in_{personal,social,public}_space
             (engagement.enabled). Each person's engagement_status is per person already.

The launch file and face-perception-bringup start it when a cameras file (or a namespace)
puts perception nodes with hri.enabled outside the root namespace.
"""
from __future__ import annotations

import sys
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile

from face_perception.parameters import ConfigError, HRI_AGGREGATOR_PARAMETERS

from face_perception.ros.diagnostics import PerCauseThrottle
from face_perception.ros.hri_aggregation import TrackedListMerger
from face_perception.ros.node_main import run_node, warn_unknown_parameters
from face_perception.ros.ros_parameters import declare_table
from face_perception.ros.topics import HRI_TRACKED_TOPIC

# A camera's person lists sit beside its faces list: <ns>/humans/faces/tracked -> <ns>/humans/persons/...
FACES_LIST_SUFFIX = "/humans/faces/tracked"
PERSON_LISTS = {"tracked": "/humans/persons/tracked", "known": "/humans/persons/known",
                **{f"in_{zone}_space": f"/humans/persons/in_{zone}_space" for zone in ("personal", "social", "public")}}

NODE_NAME = "hri_aggregator"
# As hri_output.STATE_QOS (reliable, newest only), not imported from there: that module
# loads OpenCV, which this node does not need.
STATE_QOS = QoSProfile(depth=1)
DUPLICATE_LOG_INTERVAL_S = 5.0


class AggregatorStartupError(RuntimeError):
    """The aggregator cannot start; the message names the parameter."""


class HriAggregatorNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        try:  # imported here so that a missing hri_msgs is one clear line, as for the node
            from hri_msgs.msg import IdsList
        except ImportError as error:
            raise AggregatorStartupError(
                f"hri_msgs cannot be imported ({error}); install ros-<distro>-hri-msgs or build "
                "../shared/ros2/src/hri_msgs (scripts/setup/setup_env.sh --dev)") from error
        self._ids_list = IdsList
        try:  # both read-only: ROS refuses any change after the start
            values = declare_table(self, HRI_AGGREGATOR_PARAMETERS)
        except ConfigError as error:
            raise AggregatorStartupError(str(error)) from error
        topics, timeout = values["tracked_topics"] or [], float(values["source_timeout"])
        if not topics or not all(topics):
            raise AggregatorStartupError("parameter 'tracked_topics': needs one non-empty topic per camera")
        resolved = [self.resolve_topic_name(topic) for topic in topics]
        if self.resolve_topic_name(HRI_TRACKED_TOPIC) in resolved:
            raise AggregatorStartupError(f"parameter 'tracked_topics': {HRI_TRACKED_TOPIC} is this node's output")
        try:
            self._merger = TrackedListMerger(resolved, timeout)
        except ValueError as error:
            raise AggregatorStartupError(f"parameter 'tracked_topics' / 'source_timeout': {error}") from error
        self._duplicate_log = PerCauseThrottle(DUPLICATE_LOG_INTERVAL_S)
        self._publisher = self.create_publisher(IdsList, HRI_TRACKED_TOPIC, STATE_QOS)
        for topic in resolved:
            self.create_subscription(IdsList, topic, lambda message, t=topic: self._on_list(t, message), STATE_QOS)
        # Persons (identity.enabled): the same merge, where several cameras may see one person.
        self._person_lists: dict[str, tuple[TrackedListMerger, object]] = {}
        if all(topic.endswith(FACES_LIST_SUFFIX) for topic in resolved):
            for kind, output in PERSON_LISTS.items():
                sources = [topic[: -len(FACES_LIST_SUFFIX)] + output for topic in resolved]
                self._person_lists[kind] = (TrackedListMerger(sources, timeout),
                                            self.create_publisher(IdsList, output, STATE_QOS))
                for topic in sources:
                    self.create_subscription(IdsList, topic, lambda message, t=topic, k=kind:
                                             self._on_person_list(k, t, message), STATE_QOS)
        # Expiry is checked 4x per timeout: a dead camera's faces go within 1.25 timeouts.
        self.create_timer(timeout / 4.0, self._expire)
        warn_unknown_parameters(self)
        self.get_logger().info(f"merging {', '.join(resolved)} into {HRI_TRACKED_TOPIC}")

    def _on_list(self, topic: str, message) -> None:
        merged = self._merger.update(topic, message.ids, time.monotonic())
        self._publish(merged, message.header.stamp)
        for face_id, sources in self._merger.duplicates().items():
            held_back = self._duplicate_log.admit(face_id, time.monotonic())
            if held_back is not None:
                self.get_logger().error(f"face id '{face_id}' is listed by {', '.join(sources)}: ids must be "
                                        "unique per robot (give each camera's node its own namespace)")

    def _on_person_list(self, kind: str, topic: str, message) -> None:
        merger, publisher = self._person_lists[kind]
        self._publish(merger.update(topic, message.ids, time.monotonic()), message.header.stamp, publisher)

    def _expire(self) -> None:
        if self._merger.expire(time.monotonic()):
            self._publish(self._merger.merged(time.monotonic()), self.get_clock().now().to_msg())
        for merger, publisher in self._person_lists.values():
            if merger.expire(time.monotonic()):
                self._publish(merger.merged(time.monotonic()), self.get_clock().now().to_msg(), publisher)

    def _publish(self, ids, stamp, publisher=None) -> None:
        message = self._ids_list(ids=list(ids))
        message.header.stamp = stamp
        (publisher or self._publisher).publish(message)


def main(args: list[str] | None = None) -> int:
    return run_node(HriAggregatorNode, rclpy.spin, (AggregatorStartupError,), NODE_NAME, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
