"""Fixtures for in-process node tests: each test gets its own rclpy Context and executor."""

import pytest

pytest.importorskip("td3_driving.msg", reason="needs the built messages (./env.sh)")
from support.graph import graph  # noqa: E402, F401  (the fixture)
