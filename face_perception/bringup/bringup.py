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
Start the face_perception graph without ``ros2 launch`` (pip-only installs).

Takes the same ``name:=value`` arguments as ``launch/perception.launch.py`` and starts
the same nodes with the same YAML, one process each, through
:func:`face_perception.bringup.graph.describe_graph`:

    face-perception-bringup image_source:=demo
    face-perception-bringup image_topic:=/camera/color/image_raw params_file:=my.yaml
    face-perception-bringup namespace:=front image_topic:=image_raw
    face-perception-bringup cameras_file:=my_cameras.yaml
"""
from __future__ import annotations

import argparse
from importlib import metadata
import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from face_perception.bringup.dds_transport import choose_transport, large_images_profile, parse_switch
from face_perception.bringup.graph import check_params_file, describe_graph, LAUNCH_ARGUMENTS, NodeSpec, PACKAGE_NAME


# The repository root: launch/ and config/ of a source checkout (face_perception/bringup/ is two below).
SOURCE_TREE = Path(__file__).resolve().parents[2]


def package_share_directory() -> Path:
    """Return the installed share directory when ament can find it, else the source tree."""
    try:
        from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
    except ImportError:
        return SOURCE_TREE
    try:
        share = Path(get_package_share_directory(PACKAGE_NAME))
    except (PackageNotFoundError, OSError):  # OSError: AMENT_PREFIX_PATH unset (plain venv)
        return SOURCE_TREE
    return share if (share / "config").is_dir() else SOURCE_TREE


def executable_module(executable: str) -> str:
    """Return the module behind a console script of this package (as declared in setup.py)."""
    for entry_point in metadata.entry_points(group="console_scripts"):
        if entry_point.name == executable and entry_point.value.startswith(PACKAGE_NAME + "."):
            return entry_point.value.split(":", 1)[0]
    raise ValueError(
        f"executable '{executable}' is not a console script of {PACKAGE_NAME}; "
        "is the package installed (scripts/setup/setup_env.sh)?"
    )


def node_command(spec: NodeSpec) -> list[str]:
    """Return the command line that runs one node with its name, parameters and remappings."""
    if spec.package != PACKAGE_NAME:
        raise ValueError(
            f"{spec.package}/{spec.executable} cannot be started on a pip-only install "
            "(only ROS 2 distro installs have it); use ros2 launch for it"
        )
    command = [sys.executable, "-m", executable_module(spec.executable), *spec.arguments, "--ros-args"]
    command += ["-r", f"__node:={spec.name}"]
    if spec.namespace:
        command += ["-r", f"__ns:={spec.namespace}"]
    for parameter in spec.parameters:
        if isinstance(parameter, dict):
            for name, value in parameter.items():
                # -p values are YAML: a list as a flow sequence (JSON is valid YAML).
                text = json.dumps(value) if isinstance(value, list) else value
                command += ["-p", f"{name}:={text}"]
        else:
            command += ["--params-file", str(parameter)]
    for source, target in spec.remappings:
        command += ["-r", f"{source}:={target}"]
    return command


def parse_launch_arguments(tokens: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for token in tokens:
        if ":=" not in token:
            raise ValueError(f"argument '{token}' is not of the form name:=value")
        name, value = token.split(":=", 1)
        values[name] = value
    return values


def run_graph(commands: list[list[str]], environment: dict[str, str] | None = None) -> int:
    """Run the processes until the perception node (the first) exits or a signal arrives."""
    processes = [subprocess.Popen(command, env=environment) for command in commands]
    stopping = False

    def request_stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    reported: set[int] = set()
    while not stopping:
        for index, process in enumerate(processes):
            code = process.poll()
            if code is not None and index not in reported:
                reported.add(index)
                print(f"[bringup] process {' '.join(commands[index][2:4])} exited with {code}", flush=True)
                if code != 0:
                    exit_code = code
        if processes[0].poll() is not None or exit_code != 0:
            break
        time.sleep(0.1)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="arguments:\n"
        + "\n".join(f"  {a.name}:=  {a.description} (default: '{a.default}')" for a in LAUNCH_ARGUMENTS),
    )
    parser.add_argument("launch_arguments", nargs="*", metavar="name:=value")
    parser.add_argument("--print", action="store_true", help="print the node commands and exit")
    options = parser.parse_args(argv)
    try:
        graph = describe_graph(parse_launch_arguments(options.launch_arguments), package_share_directory())
        check_params_file(graph.params_file)
        commands = [node_command(spec) for spec in graph.nodes]
        # The image senders' DDS transport (docs/deployment.md, "DDS"); the user's own choice wins.
        transport = choose_transport(os.environ, parse_switch(graph.launch_arguments["dds_large_images"]),
                                     large_images_profile(package_share_directory()), os.getcwd())
    except ValueError as error:
        print(f"face-perception-bringup: {error}", file=sys.stderr)
        return 2
    if options.print:
        for name, value in transport.environment.items():
            print(f"{name}={value}")
        for command in commands:
            print(" ".join(command))
        return 0
    print(f"[bringup] {transport.description}", flush=True)
    return run_graph(commands, {**os.environ, **transport.environment})


if __name__ == "__main__":
    sys.exit(main())
