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
The real ROS 2 command-line tools, for the tests that drive the package as a user does.

The tools come from ../shared/ros2 (installed by `scripts/setup/setup_env.sh --dev`, which also
makes the venv an ament prefix for face_perception). Every verb runs as a subprocess with a
timeout; conftest.py's ``environment`` fixture gives them this run's environment.
"""
from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
SHARED_ROS2 = ROOT.parent / "shared" / "ros2"
VENV_BIN = Path(sys.executable).parent
ROS2 = VENV_BIN / "ros2"
# Without a daemon each call discovers the graph anew: give it time on a busy machine.
DISCOVERY = ("--no-daemon", "--spin-time", "3")
PARAM_WAIT = ("--no-daemon", "--timeout", "15")
NO_TOOLS = f"{SHARED_ROS2} is absent: the real ros2 tools are not available"


def tool_environment(log_dir: Path) -> dict[str, str]:
    # conftest.py already set this run's ROS_DOMAIN_ID and the local-only Fast DDS profile.
    return dict(
        os.environ,
        AMENT_PREFIX_PATH=sys.prefix,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        ROS_LOG_DIR=str(log_dir),
        PYTHONUNBUFFERED="1",
    )


def ros2(env: dict[str, str], *arguments: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROS2), *arguments], env=env, capture_output=True, text=True, timeout=timeout)


def ros2_until(env: dict[str, str], *arguments: str, done: Callable[[subprocess.CompletedProcess], bool],
               timeout: float = 60.0) -> subprocess.CompletedProcess:
    """
    Run a ``ros2`` command again until ``done`` accepts its answer; return that answer, or the last at the timeout.

    One call discovers the graph for DISCOVERY's few seconds only; on a busy machine a node that
    is running may answer later, so the call is repeated (as a user would) instead of failing.
    """
    deadline = time.monotonic() + timeout
    while True:
        completed = ros2(env, *arguments)
        if done(completed) or time.monotonic() > deadline:
            return completed


def node_list(env: dict[str, str], expected: set[str], timeout: float = 60.0) -> list[str]:
    """Return ``ros2 node list`` as soon as it shows every expected node, or its last answer at the timeout."""
    listed = ros2_until(env, "node", "list", *DISCOVERY, timeout=timeout,
                        done=lambda completed: expected <= set(completed.stdout.split()))
    return listed.stdout.split()


def stop_daemon(env: dict[str, str]) -> None:
    subprocess.run([str(ROS2), "daemon", "stop"], env=env, capture_output=True, timeout=30)


class LaunchedGraph:
    """`ros2 launch face_perception perception.launch.py <arguments>` in a process group of its own."""

    def __init__(self, env: dict[str, str], log_path: Path, arguments: tuple[str, ...]) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(ROS2), "launch", "face_perception", "perception.launch.py", *arguments],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        """Ctrl-C as in a terminal (the whole group), then kill whatever is left."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return -1
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # children that outlived launch
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
