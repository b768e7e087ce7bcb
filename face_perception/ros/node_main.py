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
The life cycle both executables share: init, build the node, spin, shut down cleanly.

A node that cannot start (bad parameter, missing file) raises one of ``startup_errors``;
that is reported as one fatal line and exit code 1 instead of a traceback. So are ROS
arguments that ``rclpy.init`` refuses (a missing ``--params-file``, a ``-p name:=`` without
a value).
"""
from __future__ import annotations

import difflib
import faulthandler
import signal
import sys
import threading
from typing import Callable, Iterable

import rclpy
import rclpy.executors
from rclpy.node import Node


# Seconds destroying the node and shutting ROS down may take (launch sends SIGTERM after 5 s).
SHUTDOWN_GRACE_S = 4.0


def run_node(create: Callable[[], Node], spin: Callable[[Node], None],
             startup_errors: tuple[type[BaseException], ...], logger_name: str,
             args: list[str] | None = None) -> int:
    """Run one node until ``spin`` returns or Ctrl-C; returns the process exit code."""
    try:
        rclpy.init(args=args)
    except Exception as error:  # rclpy raises RCLError (not importable by a public name) here
        # Logging is not up before init succeeded: the same FATAL line, written by hand.
        print(f"[FATAL] [{logger_name}]: refusing to start: {init_error_text(error)}", file=sys.stderr)
        return 1
    node = None
    exit_code = 0
    # launch escalates Ctrl-C to SIGTERM after 5 s when a process hangs: say where it hangs
    # (faulthandler writes the stacks from its C handler, even when the hang holds the GIL).
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
    try:
        node = create()
        spin(node)
    except startup_errors as error:
        rclpy.logging.get_logger(logger_name).fatal(f"refusing to start: {error}")
        exit_code = 1
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # Ctrl-C shut the context down while a callback was publishing: not an error.
    finally:
        # Ctrl-C in a terminal reaches the node twice (from the terminal and from ros2
        # launch): the second one must not interrupt the clean-up half-way.
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
            pass
        # A clean-up stuck in the middleware (seen once in CI, never reproduced) must not
        # leave a process for launch to kill: after SHUTDOWN_GRACE_S the stacks go to stderr
        # and the process exits with status 1, before launch's SIGTERM at 5 s.
        faulthandler.dump_traceback_later(SHUTDOWN_GRACE_S, exit=True)
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        faulthandler.cancel_dump_traceback_later()
    return exit_code


def stop_spinning(executor: rclpy.executors.Executor, spinner: threading.Thread, nodes: Iterable[Node]) -> None:
    """
    Stop an executor spun by ``spinner``, joins that thread, then destroys ``nodes``.

    The order matters: with Fast DDS's default transports a participant still used by a
    spinning thread when the interpreter exits aborted the process ("terminate called
    without an active exception").
    """
    executor.shutdown(timeout_sec=5.0)
    spinner.join(timeout=5.0)
    for node in nodes:
        executor.remove_node(node)
        node.destroy_node()


def init_error_text(error: BaseException) -> str:
    """Return the useful first line of an rcl argument error (rcl appends file/line details)."""
    text = " ".join(str(error).split())
    for marker in (", at ", " at /", ". Error: error not set"):
        text = text.split(marker, 1)[0]
    return text or type(error).__name__


def closest_names(unknown: Iterable[str], known: Iterable[str]) -> dict[str, str | None]:
    """Each unknown parameter name -> the most similar known one (None when nothing is close)."""
    known = sorted(known)
    return {name: next(iter(difflib.get_close_matches(name, known, n=1, cutoff=0.6)), None) for name in unknown}


def warn_unknown_parameters(node: Node) -> None:
    """
    Warn once about parameters given to this node (YAML, -p) that it does not declare.

    rclpy silently ignores them, so a typo like ``detection.scalefactor`` would go unnoticed.
    """
    # rclpy keeps the overrides from --params-file / -p / parameter_overrides here.
    given = set(getattr(node, "_parameter_overrides", {}))
    declared = {name for name in given if node.has_parameter(name)}
    known = set(node._parameters)  # noqa: SLF001 - every declared parameter, including use_sim_time
    for name, closest in closest_names(sorted(given - declared), known).items():
        hint = f"; did you mean '{closest}'?" if closest else ""
        node.get_logger().warning(f"unknown parameter '{name}' is ignored{hint}")
