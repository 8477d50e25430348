"""The ``main()`` shape every node shares: init, construct, spin, shut down cleanly."""

from __future__ import annotations

import sys
from typing import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from td3_driving.core.config_base import ConfigError
from td3_driving.core.policy import PolicyError


def run_node(make_node: Callable[[], Node], args: list[str] | None = None,
             executor: Executor | Callable[[], Executor] | None = None) -> int:
    """Spin the node made by ``make_node`` until Ctrl-C or shutdown; no traceback on exit.

    ``executor`` may be a factory (e.g. ``MultiThreadedExecutor``): executors can only be
    constructed after ``rclpy.init``, which happens here. A ConfigError or PolicyError (a
    policy file that is missing, not a weights file or of another configuration) while
    constructing the node is printed as one clear line, exit code 2.
    """
    rclpy.init(args=args)
    node, name = None, ""
    try:
        node = make_node()
        name = node.get_fully_qualified_name()
        if executor is None:
            executor = SingleThreadedExecutor()
        elif not isinstance(executor, Executor):
            executor = executor()
        executor.add_node(node)
        executor.spin()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except PolicyError as exc:
        print(f"policy error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if isinstance(executor, Executor):
            # callbacks still running in a MultiThreadedExecutor's threads must finish
            # before the node's entities are destroyed under them
            executor.shutdown()
        if node is not None:
            _close_quietly(node, name)
        if rclpy.ok():
            rclpy.try_shutdown()
    return 0


def _close_quietly(node: Node, name: str) -> None:
    """Run the node's ``close()`` (its last messages) and destroy it, never raising.

    A second signal (e.g. ``ros2 launch`` escalating SIGINT to SIGTERM on a busy machine)
    can shut the context down while ``close()`` still publishes; what could not be sent
    is reported in one line instead of a traceback and a failed exit code.
    """
    close = getattr(node, "close", None)
    try:
        if close is not None:
            close()
    except Exception as exc:  # noqa: BLE001  (rclpy raises RCLError, RuntimeError, ...)
        print(f"{name}: shutdown interrupted before its last "
              f"messages were sent ({type(exc).__name__}: {exc})", file=sys.stderr)
    try:
        node.destroy_node()
    except Exception:  # noqa: BLE001  (the context is gone: nothing left to release)
        pass
