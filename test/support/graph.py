"""A private rclpy context with an executor, for in-process node tests (the ``graph`` fixture)."""

import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor


class Graph:
    """A private rclpy context with an executor; spins until a condition holds."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes = []

    def node(self, name, **kwargs):
        node = rclpy.create_node(name, context=self.context, **kwargs)
        return self.add(node)

    def add(self, node):
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def spin_until(self, condition, timeout=10.0):
        """Spin until ``condition()`` is true; returns its final value (wall timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return bool(condition())

    def close(self):
        for node in self.nodes:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            self.executor.remove_node(node)
            node.destroy_node()
        self.executor.shutdown()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def graph():
    """A fresh :class:`Graph` per test, closed (nodes destroyed, context shut down) after it."""
    g = Graph()
    try:
        yield g
    finally:
        g.close()
