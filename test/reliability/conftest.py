"""Fault-injection tests: bad input, faults and restarts (docs/reliability.md lists them).

Uses the node tests' ``graph`` fixture and learner helpers (test/support), so that a node
under fault is built and spun exactly as in its own tests.
"""

import pytest

pytest.importorskip("td3_driving.msg", reason="needs the built messages (./env.sh)")
from support.graph import Graph, graph  # noqa: E402, F401  (graph: the fixture)


@pytest.fixture(scope="module")
def module_graph():
    """One graph for a whole module (fuzzing calls one node's callbacks many times)."""
    g = Graph()
    try:
        yield g
    finally:
        g.close()
