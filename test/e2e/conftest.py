"""End-to-end fixtures: real node processes started from td3_driving.bringup.stack."""

import pytest

pytest.importorskip("rclpy", reason="e2e tests need ./env.sh (run `make test`)")
from td3_driving.ros.listener import Listener  # noqa: E402


@pytest.fixture
def listener():
    """A background listener node; ``listener.record(type, topic, qos)`` keeps a topic."""
    with Listener("e2e_listener") as lis:
        yield lis
