"""The node graph that both start-up paths launch.

``launch/perception.launch.py`` (ROS 2 distro installs, ``ros2 launch``) and
``face-perception-bringup`` (pip-only installs, where ``launch_ros`` does not exist)
both turn the same :func:`describe_graph` output into processes, so the nodes,
executables, parameter files and remappings cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_NAME = "face_perception"
PERCEPTION_NODE_NAME = "face_perception"
IMAGE_SOURCE_NODE_NAME = "image_source"


@dataclass(frozen=True)
class LaunchArgument:
    name: str
    default: str
    description: str


# Names, defaults and meaning of the arguments of both start-up paths. A default
# of "" for params_file means "the package's config/perception.yaml".
LAUNCH_ARGUMENTS: tuple[LaunchArgument, ...] = (
    LaunchArgument("image_topic", "/camera/image_raw", "sensor_msgs/Image topic to watch"),
    LaunchArgument("params_file", "", "YAML parameter file (default: the package's config/perception.yaml)"),
    LaunchArgument(
        "image_source",
        "",
        "if set, also start image_source_node on this source: a video file, an image "
        "folder or file, 'camera:<index>', or 'demo' (embedded astronaut sequence)",
    ),
    LaunchArgument("use_rviz", "false", "start RViz with config/face_perception.rviz"),
    LaunchArgument(
        "dds_large_images",
        "true",
        "start our nodes with config/fastdds_large_images.xml when no Fast DDS transport is chosen "
        "(face_perception.dds_transport); false keeps Fast DDS defaults",
    ),
)


@dataclass(frozen=True)
class NodeSpec:
    """One process of the graph, in the terms launch_ros.actions.Node uses."""

    package: str
    executable: str
    name: str
    parameters: tuple[object, ...] = ()  # YAML file paths (str) and/or dicts of overrides
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
    params_file = values["params_file"] or default_params_file(share_directory)

    nodes = [
        NodeSpec(
            package=PACKAGE_NAME,
            executable="perception_node",
            name=PERCEPTION_NODE_NAME,
            parameters=(params_file, {"image_topic": image_topic}),
        )
    ]
    if values["image_source"]:
        nodes.append(
            NodeSpec(
                package=PACKAGE_NAME,
                executable="image_source_node",
                name=IMAGE_SOURCE_NODE_NAME,
                parameters=(params_file, {"source": values["image_source"], "topic": image_topic}),
            )
        )
    if _is_true(values["use_rviz"]):
        nodes.append(
            NodeSpec(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                arguments=("-d", default_rviz_file(share_directory)),
            )
        )
    return GraphSpec(nodes=tuple(nodes), params_file=params_file, launch_arguments=values)
