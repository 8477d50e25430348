"""Fault-injection tests: bad input, faults and restarts (docs/reliability.md lists them).

Uses the node tests' ``graph`` fixture and learner helpers (test/support), so that a node
under fault is built and spun exactly as in its own tests.
"""

import pytest

pytest.importorskip("td3_driving.msg", reason="needs the built messages (./env.sh)")
from support.graph import graph  # noqa: E402, F401  (the fixture)
