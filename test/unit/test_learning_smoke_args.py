"""benchmarks/learning_smoke.py: a tuning variant never takes the default's record."""

import pytest

# learning_smoke drives the ROS stack: it imports the built messages
pytest.importorskip("td3_driving.msg", reason="learning_smoke needs the built messages: ./env.sh")
from benchmarks.learning_smoke import record_name  # noqa: E402
from td3_driving.core.config_base import parse_assignments  # noqa: E402


def test_overrides_are_read_as_yaml_values_and_malformed_ones_are_refused():
    assert parse_assignments(["replay.n_step=3", "td3.tau=0.01", "td3.gamma=0.99"]) == {
        "replay.n_step": 3, "td3.tau": 0.01, "td3.gamma": 0.99}
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_assignments(["replay.n_step"])


def test_a_tagged_variant_has_its_own_record_name():
    base = {"preset": "route", "seed": 1, "budget_frames": 100_000}
    assert record_name(base) == "ros-route-s1"
    assert record_name({**base, "tag": "n3"}) == "ros-route-n3-s1"
    assert record_name({**base, "tag": "n3", "budget_frames": 300_000}) == \
        "ros-route-n3-s1-300k"
