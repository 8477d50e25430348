"""Fault-injection tests: bad input, faults and restarts (docs/reliability.md lists them).

Reuses the node tests' ``graph`` fixture and learner helpers (test/nodes), so that a node
under fault is built and spun exactly as in its own tests.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="reliability tests need ./env.sh (run `make test`)")

_NODES = Path(__file__).resolve().parent.parent / "nodes"
if str(_NODES) not in sys.path:
    sys.path.insert(0, str(_NODES))   # learner_node_helpers
_spec = importlib.util.spec_from_file_location("_nodes_conftest", _NODES / "conftest.py")
_nodes_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_nodes_conftest)

graph = _nodes_conftest.graph


@pytest.fixture(scope="module")
def module_graph():
    """One graph for a whole module (fuzzing calls one node's callbacks many times)."""
    g = _nodes_conftest.Graph()
    try:
        yield g
    finally:
        g.close()
