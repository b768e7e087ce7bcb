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

"""The launch file, the pip-only bringup and the YAML describe one and the same graph."""
from __future__ import annotations

import ast
import configparser
from pathlib import Path
import shutil
import subprocess
import sys

import pytest
import yaml

from face_perception.bringup import bringup
from face_perception.bringup.graph import describe_graph, LAUNCH_ARGUMENTS
from face_perception.parameters import IMAGE_SOURCE_PARAMETERS, PARAMETERS

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_FILE = ROOT / "launch" / "perception.launch.py"
PARAMS_FILE = ROOT / "config" / "perception.yaml"


def flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def console_scripts() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    scripts = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and " = " in node.value:
            name, target = node.value.split(" = ", 1)
            scripts[name.strip()] = target.strip()
    return scripts


def test_launch_file_declares_exactly_the_shared_arguments_and_uses_describe_graph():
    tree = ast.parse(LAUNCH_FILE.read_text())
    called = {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert {"describe_graph", "DeclareLaunchArgument", "Node", "OpaqueFunction"} <= called
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "face_perception.bringup.graph"
        for alias in node.names
    }
    assert {"LAUNCH_ARGUMENTS", "describe_graph"} <= imported
    # The launch file passes every NodeSpec field to launch_ros.actions.Node.
    node_calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Node"]
    assert len(node_calls) == 1
    keywords = {keyword.arg for keyword in node_calls[0].keywords}
    assert {"package", "executable", "name", "namespace", "parameters", "remappings", "arguments"} <= keywords


def test_bringup_starts_the_same_nodes_executables_parameters_and_remaps(tmp_path):
    arguments = {"image_topic": "/head_camera/rgb", "image_source": "demo"}
    graph = describe_graph(arguments, ROOT)
    scripts = console_scripts()
    commands = [bringup.node_command(spec) for spec in graph.nodes]
    assert [spec.name for spec in graph.nodes] == ["face_perception", "image_source"]
    for spec, command in zip(graph.nodes, commands):
        # The executable the launch file names is a console script whose module bringup runs.
        assert spec.executable in scripts
        assert command[2] == scripts[spec.executable].split(":")[0]
        ros_args = command[command.index("--ros-args") + 1:]
        assert ["-r", f"__node:={spec.name}"] == ros_args[:2]
        assert ros_args[ros_args.index("--params-file") + 1] == str(PARAMS_FILE)
        for source, target in spec.remappings:
            assert f"{source}:={target}" in ros_args
    assert "image_topic:=/head_camera/rgb" in commands[0]
    assert "topic:=/head_camera/rgb" in commands[1] and "source:=demo" in commands[1]


def test_bringup_print_mode_and_argument_errors(capsys):
    assert bringup.main(["image_source:=demo", "--print"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and "face_perception.ros.perception_node" in printed[0]
    assert bringup.main(["no_such_argument:=1", "--print"]) == 2
    assert "no_such_argument" in capsys.readouterr().err
    assert bringup.main(["image_topic", "--print"]) == 2
    assert bringup.main(["params_file:=/does/not/exist.yaml", "--print"]) == 2
    assert "/does/not/exist.yaml" in capsys.readouterr().err
    # RViz exists only on distro installs: refused with a reason, not a crash.
    assert bringup.main(["use_rviz:=true", "--print"]) == 2
    assert "rviz2" in capsys.readouterr().err


def test_params_yaml_lists_every_parameter_with_its_declared_default():
    document = yaml.safe_load(PARAMS_FILE.read_text())
    perception = flatten(document["/**/face_perception"]["ros__parameters"])
    expected = {spec.name: spec.default for spec in PARAMETERS}
    assert perception == expected
    source = flatten(document["/**/image_source"]["ros__parameters"])
    assert set(source) == {spec.name for spec in IMAGE_SOURCE_PARAMETERS}


def test_setup_cfg_puts_ros_executables_where_ros2_run_looks():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    assert parser["install"]["install_scripts"] == "$base/lib/face_perception"
    assert parser["develop"]["script_dir"] == "$base/lib/face_perception"
    assert set(console_scripts()) >= {"perception_node", "image_source_node"}


def test_launch_argument_names_match_the_readme():
    readme = (ROOT / "README.md").read_text()
    for argument in LAUNCH_ARGUMENTS:
        assert f"{argument.name}:=" in readme


@pytest.mark.skipif(shutil.which("colcon") is None and not (Path(sys.prefix) / "bin" / "colcon").exists(),
                    reason="colcon is installed by scripts/setup/setup_env.sh")
def test_colcon_discovers_both_packages_with_the_documented_base_paths():
    colcon = shutil.which("colcon") or str(Path(sys.prefix) / "bin" / "colcon")
    documented = subprocess.run(
        [colcon, "list", "--names-only", "--base-paths", ".", "face_perception_msgs"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert sorted(documented.stdout.split()) == ["face_perception", "face_perception_msgs"]
    # Why the README spells out --base-paths: the default search stops at the root package.xml.
    default = subprocess.run([colcon, "list", "--names-only"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert default.stdout.split() == ["face_perception"]
