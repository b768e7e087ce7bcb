"""The life cycle both executables share: init, build the node, spin, shut down cleanly.

A node that cannot start (bad parameter, missing file) raises one of ``startup_errors``;
that is reported as one fatal line and exit code 1 instead of a traceback.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable

import rclpy
import rclpy.executors
from rclpy.node import Node


def run_node(create: Callable[[], Node], spin: Callable[[Node], None],
             startup_errors: tuple[type[BaseException], ...], logger_name: str,
             args: list[str] | None = None) -> int:
    """Runs one node until ``spin`` returns or Ctrl-C; returns the process exit code."""
    rclpy.init(args=args)
    node = None
    exit_code = 0
    try:
        node = create()
        spin(node)
    except startup_errors as error:
        rclpy.logging.get_logger(logger_name).fatal(f"refusing to start: {error}")
        exit_code = 1
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return exit_code


def stop_spinning(executor: rclpy.executors.Executor, spinner: threading.Thread, nodes: Iterable[Node]) -> None:
    """Stops an executor spun by ``spinner``, joins that thread, then destroys ``nodes``.

    The order matters: with Fast DDS's default transports a participant still used by a
    spinning thread when the interpreter exits aborted the process ("terminate called
    without an active exception").
    """
    executor.shutdown(timeout_sec=5.0)
    spinner.join(timeout=5.0)
    for node in nodes:
        executor.remove_node(node)
        node.destroy_node()
