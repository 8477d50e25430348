"""End-to-end fixtures: real node processes started from td3_driving.bringup.stack."""

import pytest

pytest.importorskip("td3_driving.msg", reason="needs the built messages (./env.sh)")
from td3_driving.ros.listener import Listener  # noqa: E402


@pytest.fixture
def listener():
    """A background listener node; ``listener.record(type, topic, qos)`` keeps a topic."""
    with Listener("e2e_listener") as lis:
        yield lis
