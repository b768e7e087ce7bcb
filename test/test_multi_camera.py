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
Several cameras on one robot.

Several cameras on one robot: the graph description (pure Python), and two perception
nodes in namespaces with the REP-155 aggregator in a real rclpy graph.
"""
from __future__ import annotations

from pathlib import Path
import threading

from face_perception_msgs.msg import FaceAttributesArray
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header
import yaml

from conftest import make_face_frame, wait_for
from face_perception.bringup import bringup
from face_perception.bringup.cameras import node_parameter
from face_perception.bringup.graph import describe_graph, normalize_namespace
from face_perception.ros.hri_aggregation import TrackedListMerger
from face_perception.ros.node_main import stop_spinning
from face_perception.ros.perception_node import PerceptionNode
from ros_helpers import image_message

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILE = str(ROOT / "config" / "perception.yaml")

try:
    from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D

    from face_perception.ros.hri_aggregator_node import HriAggregatorNode
except ImportError:
    IdsList = None
needs_hri_msgs = pytest.mark.skipif(IdsList is None, reason="hri_msgs is not installed")


def write_cameras(path: Path, cameras: list[dict]) -> str:
    path.write_text(yaml.safe_dump({"cameras": cameras}))
    return str(path)


# --- the graph description -------------------------------------------------------------------
def test_default_graph_keeps_todays_names_and_one_node_in_the_root_namespace():
    graph = describe_graph({}, ROOT)
    assert [(spec.name, spec.namespace) for spec in graph.nodes] == [("face_perception", "")]
    command = bringup.node_command(graph.nodes[0])
    assert not any(arg.startswith("__ns:=") for arg in command)
    # The example cameras file is valid and names both cameras.
    example = describe_graph({"cameras_file": str(ROOT / "config" / "cameras.example.yaml")}, ROOT)
    assert [spec.namespace for spec in example.nodes] == ["/head", "/base"]


def test_cameras_file_starts_one_node_per_camera_with_one_params_file_and_their_overrides(tmp_path):
    cameras = write_cameras(tmp_path / "cameras.yaml", [
        {"name": "front", "image_topic": "/front_camera/image_raw", "camera_info": "/front_camera/camera_info",
         "parameters": {"hri": {"enabled": True}, "detection.backend": "blazeface"}},
        {"name": "rear", "image_topic": "image_raw", "parameters": {"hri.enabled": True}},
    ])
    graph = describe_graph({"cameras_file": cameras, "namespace": "robot", "image_source": "demo"}, ROOT)
    by_place = {(spec.namespace, spec.name): spec for spec in graph.nodes}
    assert sorted(by_place) == [("/robot", "hri_aggregator"), ("/robot/front", "face_perception"),
                                ("/robot/front", "image_source"), ("/robot/rear", "face_perception"),
                                ("/robot/rear", "image_source")]
    front = by_place[("/robot/front", "face_perception")]
    assert front.parameters == (PARAMS_FILE, {"image_topic": "/front_camera/image_raw", "hri.enabled": True,
                                              "detection.backend": "blazeface",
                                              "camera_info_topic": "/front_camera/camera_info"})
    rear_source = by_place[("/robot/rear", "image_source")].parameters[1]
    assert rear_source == {"source": "demo", "topic": "image_raw", "frame_id": "rear_camera_optical_frame"}
    aggregator = by_place[("/robot", "hri_aggregator")]
    assert aggregator.parameters[1] == {"tracked_topics": ["/robot/front/humans/faces/tracked",
                                                           "/robot/rear/humans/faces/tracked"]}
    commands = {spec.namespace + "/" + spec.name: bringup.node_command(spec) for spec in graph.nodes}
    assert "__ns:=/robot/rear" in commands["/robot/rear/face_perception"]
    assert ('tracked_topics:=["/robot/front/humans/faces/tracked", "/robot/rear/humans/faces/tracked"]'
            in commands["/robot/hri_aggregator"])
    # Without hri.enabled anywhere there is no aggregator.
    plain = write_cameras(tmp_path / "plain.yaml",
                          [{"name": "a", "image_topic": "x"}, {"name": "b", "image_topic": "y"}])
    assert [spec.name for spec in describe_graph({"cameras_file": plain}, ROOT).nodes] == ["face_perception"] * 2


def test_hri_enabled_is_read_from_the_params_file_as_rcl_matches_node_keys(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("/**/face_perception:\n  ros__parameters:\n    hri:\n      enabled: true\n"
                      "/rear/face_perception:\n  ros__parameters:\n    hri.enabled: false\n")
    assert node_parameter(str(params), "/front/face_perception", "hri.enabled") is True
    assert node_parameter(str(params), "/face_perception", "hri.enabled") is True
    assert node_parameter(str(params), "/rear/face_perception", "hri.enabled") is False  # the later key wins
    assert node_parameter(str(params), "/front/image_source", "hri.enabled") is None
    graph = describe_graph({"namespace": "front", "params_file": str(params)}, ROOT)
    assert [(s.namespace, s.name) for s in graph.nodes] == [("/front", "face_perception"), ("/front", "hri_aggregator")]
    # In the root namespace the node's own list is /humans/faces/tracked: no aggregator.
    assert [s.name for s in describe_graph({"params_file": str(params)}, ROOT).nodes] == ["face_perception"]


@pytest.mark.parametrize(("cameras", "arguments", "message"), [
    ([{"name": "front", "image_topic": "a"}, {"name": "front", "image_topic": "b"}], {}, "used twice"),
    ([{"name": "1st", "image_topic": "a"}], {}, "name '1st' must be letters"),
    ([{"name": "front"}], {}, "camera 'front': image_topic must be"),
    ([{"name": "front", "image_topic": "a", "fps": 15}], {}, "unknown key(s) ['fps']"),
    ([{"name": "front", "image_topic": "a", "parameters": {"image_topic": "b"}}], {}, "not under parameters"),
    ([{"name": "front", "image_topic": "a"}], {"image_topic": "/elsewhere"}, "not used with cameras_file"),
    ([], {}, "needs a non-empty list 'cameras:'"),
    ([{"name": "front", "image_topic": "a"}], {"namespace": "9lives"}, "namespace: '9lives' is not a valid"),
])
def test_bad_cameras_files_and_namespaces_are_refused_naming_the_entry(tmp_path, capsys, cameras, arguments, message):
    path = write_cameras(tmp_path / "cameras.yaml", cameras)
    assert bringup.main([f"cameras_file:={path}", *(f"{k}:={v}" for k, v in arguments.items()), "--print"]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1, error


def test_namespaces_are_normalised():
    assert normalize_namespace("") == "" and normalize_namespace("/") == ""
    assert normalize_namespace("front") == "/front" and normalize_namespace("/robot/front/") == "/robot/front"


def test_merger_keeps_each_cameras_newest_list_and_forgets_a_silent_camera():
    merger = TrackedListMerger(["/front/t", "/rear/t"], source_timeout_s=1.0)
    assert merger.update("/front/t", ["front_abc1"], now=0.0) == ("front_abc1",)
    assert merger.update("/rear/t", ["rear_xyz1", "rear_xyz2"], now=0.1) == ("front_abc1", "rear_xyz1", "rear_xyz2")
    assert merger.update("/front/t", [], now=0.2) == ("rear_xyz1", "rear_xyz2")  # the newest list replaces
    assert merger.update("/front/t", ["front_abc3"], now=0.9) == ("front_abc3", "rear_xyz1", "rear_xyz2")
    assert merger.expire(now=1.05) is False  # rear's list is 0.95 s old: still in
    assert merger.expire(now=1.15) is True  # over 1 s: its faces leave the union
    assert merger.merged(now=1.15) == ("front_abc3",) and merger.live_sources == ("/front/t",)
    merger.update("/rear/t", ["front_abc3"], now=1.1)
    assert merger.duplicates() == {"front_abc3": ("/front/t", "/rear/t")}
    with pytest.raises(ValueError, match="given twice"):
        TrackedListMerger(["/a", "/a"], 1.0)


# --- two cameras in a real graph -------------------------------------------------------------
class TwoCameraGraph:
    """Two perception nodes (namespaces /front and /rear), the aggregator, and a probe."""

    def __init__(self, context, overrides: dict, with_aggregator: bool) -> None:
        parameters = [Parameter(name, value=value) for name, value in overrides.items()]
        self.nodes = [PerceptionNode(context=context, namespace=ns, parameter_overrides=parameters)
                      for ns in ("front", "rear")]
        if with_aggregator:
            self.nodes.append(HriAggregatorNode(context=context, parameter_overrides=[
                Parameter("tracked_topics", value=["/front/humans/faces/tracked", "/rear/humans/faces/tracked"])]))
        self.probe = rclpy.create_node("probe", context=context)
        self.image_pubs = {cam: self.probe.create_publisher(Image, f"/{cam}/camera/image_raw", qos_profile_sensor_data)
                           for cam in ("front", "rear")}
        self.attributes: dict[str, list[FaceAttributesArray]] = {"front": [], "rear": [], "root": []}
        for cam, topic in (("front", "/front/faces/attributes"), ("rear", "/rear/faces/attributes"),
                           ("root", "/faces/attributes")):
            self.probe.create_subscription(FaceAttributesArray, topic, self.attributes[cam].append, 10)
        self.executor = SingleThreadedExecutor(context=context)
        for node in (*self.nodes, self.probe):
            self.executor.add_node(node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        assert wait_for(lambda: all(pub.get_subscription_count() == 1 for pub in self.image_pubs.values())
                        and all(n.count_subscribers(f"/{c}/faces/attributes") == 1
                                for n, c in zip(self.nodes, ("front", "rear"))))

    def stop(self) -> None:
        stop_spinning(self.executor, self.thread, [*self.nodes, self.probe])


@pytest.fixture
def two_cameras(model_parameters):
    context = rclpy.Context()
    rclpy.init(context=context)
    graphs = []

    def start(extra: dict | None = None, with_aggregator: bool = False) -> TwoCameraGraph:
        graphs.append(TwoCameraGraph(context, {**model_parameters, **(extra or {})}, with_aggregator))
        return graphs[-1]

    yield start
    for graph in graphs:
        graph.stop()
    rclpy.shutdown(context=context)


FRONT_FRAME = make_face_frame([(320, 240, 140)])
REAR_FRAME = make_face_frame([(160, 240, 120), (480, 240, 120)], seed=1)


def send(graph: TwoCameraGraph, stamp_s: int) -> dict[str, Header]:
    headers = {}
    for cam, frame in (("front", FRONT_FRAME), ("rear", REAR_FRAME)):
        headers[cam] = Header(stamp=rclpy.time.Time(seconds=stamp_s + (cam == "rear")).to_msg(),
                              frame_id=f"{cam}_camera_optical_frame")
        graph.image_pubs[cam].publish(image_message(frame, headers[cam]))
    return headers


@pytest.mark.ros
def test_two_namespaced_nodes_publish_each_cameras_faces_on_its_own_topics(two_cameras):
    graph = two_cameras()
    front, rear = graph.nodes
    assert front.get_fully_qualified_name() == "/front/face_perception"
    published = {name for name, _ in rear.get_publisher_names_and_types_by_node("face_perception", "/rear")}
    assert {"/rear/faces/attributes", "/rear/faces/annotated_image", "/rear/faces/detections",
            "/diagnostics"} <= published
    subscribed = {name for name, _ in rear.get_subscriber_names_and_types_by_node("face_perception", "/rear")}
    assert subscribed == {"/rear/camera/image_raw", "/rear/camera/camera_info"}  # camera_info beside the image
    headers = send(graph, 100)
    assert wait_for(lambda: graph.attributes["front"] and graph.attributes["rear"], timeout=20.0)
    # No cross-talk: each camera's frames, faces and frame_id on its own topic; nothing at the root.
    for cam, faces in (("front", 1), ("rear", 2)):
        messages = graph.attributes[cam]
        assert [m.header for m in messages] == [headers[cam]], cam
        assert len(messages[0].faces) == faces, cam
    assert graph.attributes["root"] == []


@pytest.mark.ros
def test_default_namespace_topic_names_are_unchanged(model_parameters):
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = PerceptionNode(context=context, parameter_overrides=[
            Parameter(name, value=value)
            for name, value in {**model_parameters, "hri.enabled": IdsList is not None}.items()])
        published = {name for name, _ in node.get_publisher_names_and_types_by_node("face_perception", "/")}
        subscribed = {name for name, _ in node.get_subscriber_names_and_types_by_node("face_perception", "/")}
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
    expected = {"/faces/attributes", "/faces/annotated_image", "/faces/detections", "/diagnostics"}
    if IdsList is not None:
        expected.add("/humans/faces/tracked")
    assert expected <= published and subscribed == {"/camera/image_raw", "/camera/camera_info"}


@pytest.mark.ros
@needs_hri_msgs
def test_one_tracked_list_holds_both_cameras_ids_and_each_face_has_its_cameras_frame(two_cameras):
    graph = two_cameras({"hri.enabled": True}, with_aggregator=True)
    merged: list[IdsList] = []
    graph.probe.create_subscription(IdsList, "/humans/faces/tracked", merged.append, 10)
    aggregator = graph.nodes[2]
    assert wait_for(lambda: aggregator.count_subscribers("/humans/faces/tracked") >= 1
                    and all(n.count_subscribers(f"/{c}/humans/faces/tracked") == 1
                            for n, c in zip(graph.nodes, ("front", "rear"))))

    def both_cameras(message: IdsList) -> bool:
        prefixes = [face_id.split("_")[0] for face_id in message.ids]
        return prefixes.count("front") == 1 and prefixes.count("rear") == 2

    for second in range(100, 120, 2):
        send(graph, second)
        if wait_for(lambda: any(both_cameras(m) for m in merged), timeout=5.0):
            break
    union = next(m for m in merged if both_cameras(m))
    assert len(set(union.ids)) == 3  # ids never collide
    assert union.header.frame_id == ""  # several cameras' frames: each face's topics carry its own
    front_id = next(face_id for face_id in union.ids if face_id.startswith("front_"))
    rois: list = []
    graph.probe.create_subscription(NormalizedRegionOfInterest2D, f"/humans/faces/{front_id}/roi", rois.append, 10)
    assert wait_for(lambda: graph.probe.count_publishers(f"/humans/faces/{front_id}/roi") == 1)
    for second in range(200, 220, 2):
        send(graph, second)
        if wait_for(lambda: rois, timeout=5.0):
            break
    assert rois and rois[-1].header.frame_id == "front_camera_optical_frame"


@needs_hri_msgs
def test_anonymous_persons_of_both_cameras_in_one_persons_list(two_cameras):
    # Identity off, engagement on (the default): a person per face, merged like the faces.
    graph = two_cameras({"hri.enabled": True}, with_aggregator=True)
    merged: list[IdsList] = []
    personal: list[IdsList] = []
    graph.probe.create_subscription(IdsList, "/humans/persons/tracked", merged.append, 10)
    graph.probe.create_subscription(IdsList, "/humans/persons/in_personal_space", personal.append, 10)
    aggregator = graph.nodes[2]
    assert wait_for(lambda: aggregator.count_subscribers("/humans/persons/tracked") >= 1
                    and all(n.count_subscribers(f"/{c}/humans/persons/tracked") == 1
                            for n, c in zip(graph.nodes, ("front", "rear"))))

    def both_cameras(message: IdsList) -> bool:
        prefixes = [person_id.split("_")[1] for person_id in message.ids]
        return all(p.startswith("anon_") for p in message.ids) and sorted(prefixes) == ["front", "rear", "rear"]

    for second in range(300, 320, 2):
        send(graph, second)
        if wait_for(lambda: any(both_cameras(m) for m in merged), timeout=5.0):
            break
    assert any(both_cameras(m) for m in merged), [m.ids for m in merged]
    # No camera_info here: no positions, so nobody is in a proxemic zone, but the lists come.
    assert wait_for(lambda: personal) and all(not m.ids for m in personal)
