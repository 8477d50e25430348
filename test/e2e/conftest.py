"""End-to-end fixtures: real node processes started from td3_driving.bringup.stack descriptions."""

import threading
import time

import pytest

rclpy = pytest.importorskip("rclpy", reason="e2e tests need ./env.sh (run `make test`)")
from rclpy.executors import SingleThreadedExecutor  # noqa: E402


class Listener:
    """A private rclpy context in a background thread that records messages per topic."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("e2e_listener", context=self.context)
        self.received: dict[str, list] = {}
        self.lock = threading.Lock()
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def listen(self, msg_type, topic, qos):
        def store(msg):
            with self.lock:
                self.received.setdefault(topic, []).append(msg)
        self.node.create_subscription(msg_type, topic, store, qos)

    def messages(self, topic):
        with self.lock:
            return list(self.received.get(topic, []))

    def clear(self):
        with self.lock:
            self.received.clear()

    def wait_for(self, condition, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        return bool(condition())

    def close(self):
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def listener():
    lis = Listener()
    try:
        yield lis
    finally:
        lis.close()
