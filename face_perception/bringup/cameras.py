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
The cameras file: one perception node per camera, from one launch command.

    cameras:
      - name: front                          # namespace of this camera's node: /front
        image_topic: /front_camera/image_raw # relative names resolve in /front
        camera_info: /front_camera/camera_info   # optional: the node's camera_info_topic
        parameters:                          # optional: overrides of the shared params_file
          detection.backend: blazeface
      - name: rear
        image_topic: image_raw

Every node gets the one shared parameter file (its ``/**/face_perception`` key matches a node
in any namespace), then its camera's overrides. Plain Python and PyYAML: the launch file and
``face-perception-bringup`` both read it through :func:`face_perception.bringup.graph.describe_graph`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import re
from typing import Any

import yaml

CAMERA_KEYS = ("name", "image_topic", "camera_info", "parameters")
# A camera's name becomes a namespace token and the start of its REP-155 ids.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Parameter the cameras file's camera_info entry sets (the node's camera_info subscription).
CAMERA_INFO_PARAMETER = "camera_info_topic"


@dataclass(frozen=True)
class Camera:
    name: str  # "" = the single camera of the graph, in the graph's namespace
    image_topic: str
    camera_info: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


def camera_overrides(camera: Camera) -> dict[str, Any]:
    """Node parameter overrides of one camera (besides image_topic)."""
    overrides = dict(camera.parameters)
    if camera.camera_info:
        overrides[CAMERA_INFO_PARAMETER] = camera.camera_info
    return overrides


def load_cameras_file(path: str) -> tuple[Camera, ...]:
    """Return the cameras of a cameras file; a ValueError names the file, camera and entry."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"cameras_file: '{path}' does not exist or is not a file")
    try:
        document = yaml.safe_load(file.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"cameras_file: '{path}' is not valid YAML: {' '.join(str(error).split())}") from error
    entries = document.get("cameras") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"cameras_file: '{path}' needs a non-empty list 'cameras:' (see config/cameras.example.yaml)")
    cameras = [_camera(entry, index, path) for index, entry in enumerate(entries)]
    names = [camera.name for camera in cameras]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"cameras_file: '{path}': camera name(s) {duplicates} used twice; each camera needs its own")
    return tuple(cameras)


def _camera(entry: Any, index: int, path: str) -> Camera:
    where = f"cameras_file: '{path}', camera {index + 1}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be a mapping with {', '.join(CAMERA_KEYS)}")
    unknown = sorted(set(entry) - set(CAMERA_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {list(CAMERA_KEYS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{where}: name {name!r} must be letters, digits and '_', starting with a letter")
    where = f"cameras_file: '{path}', camera '{name}'"
    image_topic = entry.get("image_topic")
    if not isinstance(image_topic, str) or not image_topic:
        raise ValueError(f"{where}: image_topic must be a non-empty topic name")
    camera_info = entry.get("camera_info", "")
    if not isinstance(camera_info, str):
        raise ValueError(f"{where}: camera_info must be a topic name")
    parameters = entry.get("parameters", {}) or {}
    if not isinstance(parameters, dict):
        raise ValueError(f"{where}: parameters must be a mapping of parameter names to values")
    flat = _flatten(parameters)
    for name_, value in flat.items():
        if not _is_parameter_value(value):
            raise ValueError(f"{where}: parameter '{name_}' = {value!r} is not a ROS parameter value")
    if "image_topic" in flat:
        raise ValueError(f"{where}: set image_topic as the camera's own entry, not under parameters")
    return Camera(name=name, image_topic=image_topic, camera_info=camera_info, parameters=flat)


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _is_parameter_value(value: Any) -> bool:
    scalar = (bool, int, float, str)
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, scalar) for item in value) and len({type(v) for v in value}) == 1
    return isinstance(value, scalar)


def _node_key_pattern(key: str) -> re.Pattern:
    """
    Return a parameter file's node key as a pattern matching node names the way rcl does.

    Return a parameter file's node key as rcl matches it: no leading '/' means the root, ``*``
    is one namespace token or name, ``**`` any number of tokens.
    """
    parts = []
    for token in key.strip("/").split("/"):
        parts.append("(/[^/]+)*" if token == "**" else "/[^/]+" if token == "*" else "/" + re.escape(token))
    return re.compile("".join(parts))


def node_parameter(params_file: str, node_fqn: str, name: str) -> Any:
    """
    Return the value a parameter file gives ``name`` for the node ``node_fqn``.

    Return the value a parameter file gives ``name`` for the node ``node_fqn`` (None: none), the
    later of several matching node keys winning; for the launch-time choice of helper nodes.
    """
    try:
        document = yaml.safe_load(Path(params_file).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None  # the node itself reports an unreadable file
    value = None
    if not isinstance(document, dict):
        return None
    for key, section in document.items():
        if not isinstance(section, dict) or not _node_key_pattern(str(key)).fullmatch(node_fqn):
            continue
        parameters = _flatten(section.get("ros__parameters") or {})
        if name in parameters:
            value = parameters[name]
    return value
