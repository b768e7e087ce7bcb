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
The node graph that both start-up paths launch.

``launch/perception.launch.py`` (ROS 2 distro installs, ``ros2 launch``) and
``face-perception-bringup`` (pip-only installs, where ``launch_ros`` does not exist)
both turn the same :func:`describe_graph` output into processes, so the nodes,
executables, namespaces, parameter files and remappings cannot drift apart.

One camera: the perception node in ``namespace`` (default: the root, today's topic names).
Several: a cameras file (:mod:`face_perception.bringup.cameras`) starts one perception node per
camera in ``<namespace>/<camera name>``, all with the same parameter file, and, when any of
them has ``hri.enabled``, ``hri_aggregator_node`` to merge their REP-155 face lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import re

from face_perception.bringup.cameras import Camera, camera_overrides, load_cameras_file, node_parameter
from face_perception.parameters import validate_value
from face_perception.ros.topics import DEFAULT_IMAGE_TOPIC, HRI_INSTANCE_TRACKED_TOPIC, resolve

PACKAGE_NAME = "face_perception"
PERCEPTION_NODE_NAME = "face_perception"
IMAGE_SOURCE_NODE_NAME = "image_source"
HRI_AGGREGATOR_NODE_NAME = "hri_aggregator"
_NAMESPACE_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class LaunchArgument:
    name: str
    default: str
    description: str


# Names, defaults and meaning of the arguments of both start-up paths. A default
# of "" for params_file means "the package's config/perception.yaml".
LAUNCH_ARGUMENTS: tuple[LaunchArgument, ...] = (
    LaunchArgument("image_topic", DEFAULT_IMAGE_TOPIC,
                   "sensor_msgs/Image topic to watch (relative: in the namespace)"),
    LaunchArgument("namespace", "", "namespace of the graph, e.g. 'front' (default: the root namespace)"),
    LaunchArgument("cameras_file", "",
                   "YAML list of cameras (name, image_topic, optional camera_info and parameters): one "
                   "perception node per camera in <namespace>/<name>, REP-155 lists merged"),
    LaunchArgument("params_file", "", "YAML parameter file (default: the package's config/perception.yaml)"),
    LaunchArgument(
        "image_source",
        "",
        "if set, also start image_source_node on this source: a video file, an image "
        "folder or file, 'camera:<index>', or 'demo' (embedded astronaut sequence)",
    ),
    LaunchArgument("detection_backend", "",
                   "face detector: 'haar' (faces within ~1.5 m at 640x480), 'blazeface' or 'yunet' (faces up to "
                   "~4 m; docs/detection.md); default: the params file's detection.backend (haar)"),
    LaunchArgument("use_rviz", "false", "start RViz with config/face_perception.rviz"),
    LaunchArgument(
        "dds_large_images",
        "true",
        "start our nodes with config/fastdds_large_images.xml when no Fast DDS transport is chosen "
        "(face_perception.bringup.dds_transport); false keeps Fast DDS defaults",
    ),
)


@dataclass(frozen=True)
class NodeSpec:
    """One process of the graph, in the terms launch_ros.actions.Node uses."""

    package: str
    executable: str
    name: str
    parameters: tuple[object, ...] = ()  # YAML file paths (str) and/or dicts of overrides
    namespace: str = ""  # "" = the root namespace; else absolute, e.g. "/front"
    remappings: tuple[tuple[str, str], ...] = ()
    arguments: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphSpec:
    nodes: tuple[NodeSpec, ...]
    params_file: str
    launch_arguments: dict[str, str] = field(default_factory=dict)


def default_params_file(share_directory: Path | str) -> str:
    return str(Path(share_directory) / "config" / "perception.yaml")


def check_params_file(path: str) -> None:
    """Refuse a parameter file that does not exist (ros2 launch would only warn and go on)."""
    if not Path(path).is_file():
        raise ValueError(f"params_file: '{path}' does not exist or is not a file")


def default_rviz_file(share_directory: Path | str) -> str:
    return str(Path(share_directory) / "config" / "face_perception.rviz")


def _is_true(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"use_rviz: '{text}' is not a boolean (true/false)")


def normalize_namespace(text: str, argument: str = "namespace") -> str:
    """Normalise a namespace: "" -> "" (root); "front", "/front/" -> "/front"; refuse what ROS would refuse."""
    tokens = text.strip().strip("/").split("/") if text.strip().strip("/") else []
    for token in tokens:
        if not _NAMESPACE_TOKEN.fullmatch(token):
            raise ValueError(f"{argument}: '{text}' is not a valid ROS namespace (tokens of letters, digits "
                             "and '_', not starting with a digit)")
    return "".join(f"/{token}" for token in tokens)


def describe_graph(arguments: dict[str, str], share_directory: Path | str) -> GraphSpec:
    """Nodes to start for the given launch arguments (unknown names are refused)."""
    known = {argument.name: argument.default for argument in LAUNCH_ARGUMENTS}
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        raise ValueError(f"unknown launch argument(s) {unknown}; known: {sorted(known)}")
    values = {**known, **arguments}
    image_topic = values["image_topic"]
    if not image_topic:
        raise ValueError("image_topic: must not be empty")
    namespace = normalize_namespace(values["namespace"])
    params_file = values["params_file"] or default_params_file(share_directory)

    if values["cameras_file"]:
        if image_topic != known["image_topic"]:
            raise ValueError("image_topic: not used with cameras_file; give each camera its image_topic there")
        cameras = load_cameras_file(values["cameras_file"])
    else:
        cameras = (Camera(name="", image_topic=image_topic),)

    # A camera's own parameters (cameras_file) win over the launch argument.
    backend = {"detection.backend": validate_value("detection.backend", values["detection_backend"])} \
        if values["detection_backend"] else {}
    nodes = []
    instance_lists = []
    for camera in cameras:
        camera_namespace = f"{namespace}/{camera.name}" if camera.name else namespace
        overrides = {"image_topic": camera.image_topic, **backend, **camera_overrides(camera)}
        nodes.append(
            NodeSpec(
                package=PACKAGE_NAME,
                executable="perception_node",
                name=PERCEPTION_NODE_NAME,
                parameters=(params_file, overrides),
                namespace=camera_namespace,
            )
        )
        if _hri_enabled(params_file, f"{camera_namespace}/{PERCEPTION_NODE_NAME}", overrides):
            instance_lists.append(resolve(HRI_INSTANCE_TRACKED_TOPIC, camera_namespace))
        if values["image_source"]:
            source = {"source": values["image_source"], "topic": camera.image_topic}
            if camera.name:  # each camera's images in its own frame, as from real cameras
                source["frame_id"] = f"{camera.name}_camera_optical_frame"
            nodes.append(
                NodeSpec(
                    package=PACKAGE_NAME,
                    executable="image_source_node",
                    name=IMAGE_SOURCE_NODE_NAME,
                    parameters=(params_file, source),
                    namespace=camera_namespace,
                )
            )
    # In the root namespace a node's own list is the robot's /humans/faces/tracked already.
    if instance_lists and all(spec.namespace for spec in nodes):
        nodes.append(
            NodeSpec(
                package=PACKAGE_NAME,
                executable="hri_aggregator_node",
                name=HRI_AGGREGATOR_NODE_NAME,
                parameters=(params_file, {"tracked_topics": instance_lists}),
                namespace=namespace,
            )
        )
    if _is_true(values["use_rviz"]):
        nodes.append(
            NodeSpec(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                arguments=("-d", default_rviz_file(share_directory)),  # its topics are absolute
            )
        )
    return GraphSpec(nodes=tuple(nodes), params_file=params_file, launch_arguments=values)


def _hri_enabled(params_file: str, node_fqn: str, overrides: dict) -> bool:
    if "hri.enabled" in overrides:
        return overrides["hri.enabled"] is True
    if not Path(params_file).is_file():
        return False  # check_params_file refuses it with the reason
    return node_parameter(params_file, node_fqn, "hri.enabled") is True
