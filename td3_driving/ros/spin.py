"""The ``main()`` shape every node shares: init, construct, spin, shut down cleanly."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from td3_driving.core.config_base import ConfigError
from td3_driving.core.policy import PolicyError
from td3_driving.ros.params import check_overrides

# A node exits with the process that started it (`make train`'s cli, `ros2 launch`, a
# test): when its parent dies, even by SIGKILL, the node is re-parented and notices within
# PARENT_POLL_S, stops as on Ctrl-C (the learner writes its final checkpoint) and is gone
# after PARENT_LOSS_GRACE_S at the latest. docs/reliability.md, "Process supervision".
EXIT_WITH_PARENT_ENV = "TD3_DRIVING_EXIT_WITH_PARENT"
PARENT_POLL_S = 0.5
PARENT_LOSS_GRACE_S = 5.0
PARENT_LOST_EXIT_CODE = 3
_watching = False


def run_node(make_node: Callable[[], Node], args: list[str] | None = None,
             executor: Executor | Callable[[], Executor] | None = None) -> int:
    """Spin the node made by ``make_node`` until Ctrl-C or shutdown; no traceback on exit.

    ``executor`` may be a factory (e.g. ``MultiThreadedExecutor``): executors can only be
    constructed after ``rclpy.init``, which happens here. A ConfigError or PolicyError (a
    policy file that is missing, not a weights file or of another configuration) while
    constructing the node, or a parameter override that the node does not declare
    (ros.params.check_overrides), is printed as one clear line, exit code 2.
    """
    stop = _StopSignals()
    stop.install()            # before rclpy.init, whose own handlers chain to these
    rclpy.init(args=args)
    watch_parent()
    node, name, accepted = None, "", False
    try:
        node = make_node()
        name = node.get_fully_qualified_name()
        check_overrides(node, sys.argv if args is None else args)
        accepted = True
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
    except Exception:
        if not stop.received:     # a signal shut the context down under the constructor
            raise
    finally:
        if isinstance(executor, Executor):
            # callbacks still running in a MultiThreadedExecutor's threads must finish
            # before the node's entities are destroyed under them
            shutdown_executor(executor)
        if node is not None:
            # a refused configuration leaves nothing behind (no final checkpoint)
            _close_quietly(node, name, run_close=accepted)
        if rclpy.ok():
            rclpy.try_shutdown()
        stop.restore()
    return 0


def shutdown_executor(executor: Executor, timeout_sec: float | None = None) -> None:
    """Shut ``executor`` down once no callback of it runs or waits for a thread.

    rclpy's ``Executor.shutdown`` destroys the executor's guard condition without waiting
    for the callbacks already handed to a MultiThreadedExecutor's thread pool: one that
    starts or ends after that fails in rclpy's own handler ("cannot use Destroyable
    because destruction was requested") and is printed as "The following exception was
    never retrieved" when collected. Draining the pool first (queued callbacks are
    dropped, running ones finish) leaves rclpy nothing to destroy under them.
    """
    pool = getattr(executor, "_executor", None)
    if isinstance(pool, ThreadPoolExecutor):
        pool.shutdown(wait=True, cancel_futures=True)
    executor.shutdown(timeout_sec)


class _StopSignals:
    """SIGINT/SIGTERM: rclpy's own handlers shut the context down and the executor returns
    (ExternalShutdownException). Python's default SIGINT handler would also raise
    KeyboardInterrupt wherever the main thread happens to be, e.g. inside rclpy taking a
    message, which ended nodes with a RuntimeError or an un-awaited coroutine warning.
    The first signal is only noted; a later one interrupts a slow close(). A repeat within
    REPEAT_S is the same request delivered twice (Ctrl-C under `ros2 launch` reaches the
    node from the terminal and again from launch).
    """

    REPEAT_S = 2.0

    def __init__(self) -> None:
        self.received: list[int] = []
        self._first = 0.0
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        """The handlers from before (a process that runs a node in-process, e.g. a test)."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame) -> None:
        if not self.received:
            self._first = time.monotonic()
        self.received.append(signum)
        if time.monotonic() - self._first >= self.REPEAT_S:
            raise KeyboardInterrupt


def _close_quietly(node: Node, name: str, run_close: bool = True) -> None:
    """Run the node's ``close()`` (its last messages) and destroy it, never raising.

    A second signal (e.g. ``ros2 launch`` escalating SIGINT to SIGTERM on a busy machine)
    can shut the context down while ``close()`` still publishes; what could not be sent
    is reported in one line instead of a traceback and a failed exit code.
    """
    close = getattr(node, "close", None) if run_close else None
    try:
        if close is not None:
            close()
    except Exception as exc:  # noqa: BLE001  (rclpy raises RCLError, RuntimeError, ...)
        print(f"{name}: shutdown interrupted before its last "
              f"messages were sent ({type(exc).__name__}: {exc})", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{name}: stopped by a second signal before its shutdown work finished",
              file=sys.stderr)
    try:
        node.destroy_node()
    except Exception:  # noqa: BLE001  (the context is gone: nothing left to release)
        pass


def watch_parent(poll_s: float = PARENT_POLL_S, grace_s: float = PARENT_LOSS_GRACE_S) -> bool:
    """Stop this process when the process that started it is gone; True if watching.

    Set TD3_DRIVING_EXIT_WITH_PARENT=0 to run a node detached from its starter (e.g. a
    shell that exits). A process started by init (ppid 1) has no starter to follow.
    """
    global _watching
    parent = os.getppid()
    if os.environ.get(EXIT_WITH_PARENT_ENV, "1") == "0" or parent <= 1:
        return False
    if _watching:             # one watch per process (tests run nodes in-process)
        return True
    _watching = True
    threading.Thread(target=_follow_parent, args=(parent, poll_s, grace_s),
                     name="parent_watch", daemon=True).start()
    return True


def _follow_parent(parent: int, poll_s: float, grace_s: float) -> None:
    stop = threading.Event()
    while not stop.wait(poll_s):
        if os.getppid() != parent:
            break
    # Our stdout/stderr were pipes read by the parent: writing to them now fails (EPIPE)
    # and could break the final checkpoint; the node's last lines go nowhere instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.kill(os.getpid(), signal.SIGINT)          # the orderly stop, as on Ctrl-C
    if not stop.wait(grace_s):                   # daemon thread: gone if the node exits
        os._exit(PARENT_LOST_EXIT_CODE)
