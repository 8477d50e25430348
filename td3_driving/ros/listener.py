"""A node in its own rclpy context, spun by an executor in a background thread.

The shape every observer of a running stack needs (the progress line of `make train`, the
evaluation's score collector, the benchmarks' monitors, the end-to-end tests' recorders):
the caller's thread stays free to start processes, sleep and poll, while callbacks run in
the listener's thread. A private context keeps it apart from any node the caller runs, and
closing it never shuts down the default context.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import rclpy
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.qos import QoSProfile

from td3_driving.ros.spin import shutdown_executor


class Listener:
    """``node`` in a private context, spun in a daemon thread from construction on.

    ``threads`` > 1 spins a MultiThreadedExecutor (callbacks in different callback groups
    then run in parallel). ``lock`` guards whatever the callbacks and the caller share.
    :meth:`record` keeps every message of a topic for :meth:`messages`.
    """

    def __init__(self, name: str, threads: int = 1) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.lock = threading.Lock()
        self._received: dict[str, list[Any]] = {}
        self.executor = (MultiThreadedExecutor(num_threads=threads, context=self.context)
                         if threads > 1 else SingleThreadedExecutor(context=self.context))
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name=f"{name}-spin", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001  (the context was shut down under us: done)
            pass

    def record(self, msg_type: type, topic: str, qos: QoSProfile) -> None:
        """Keep every message of ``topic`` (read them with :meth:`messages`)."""
        def store(msg: Any) -> None:
            with self.lock:
                self._received.setdefault(topic, []).append(msg)
        with self.lock:
            self._received.setdefault(topic, [])
        self.node.create_subscription(msg_type, topic, store, qos)

    def messages(self, topic: str) -> list[Any]:
        """The messages of a recorded topic so far, oldest first."""
        with self.lock:
            return list(self._received.get(topic, []))

    def clear(self, topic: str | None = None) -> None:
        """Forget the recorded messages of ``topic`` (default: all); subscriptions stay."""
        with self.lock:
            for name, messages in self._received.items():
                if topic is None or name == topic:
                    messages.clear()

    def wait_for(self, condition: Callable[[], bool], timeout: float,
                 poll: float = 0.05) -> bool:
        """Poll ``condition()`` until it holds or ``timeout`` seconds pass; its last value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(poll)
        return bool(condition())

    def close(self) -> None:
        """Stop spinning, destroy the node and shut the private context down."""
        shutdown_executor(self.executor, timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._thread.join(2.0)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
