"""The life cycle both executables share: init, build the node, spin, shut down cleanly.

A node that cannot start (bad parameter, missing file) raises one of ``startup_errors``;
that is reported as one fatal line and exit code 1 instead of a traceback.
"""
from __future__ import annotations

from typing import Callable

import rclpy
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
