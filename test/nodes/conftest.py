"""Fixtures for in-process node tests: each test gets its own rclpy Context and executor."""

import pytest

pytest.importorskip("rclpy", reason="ROS tests need ./env.sh (run `make test`)")
from support.graph import graph  # noqa: E402, F401  (the fixture)
