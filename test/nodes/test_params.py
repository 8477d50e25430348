"""Config dataclasses as ROS parameters: descriptors, overrides, and clear errors."""

import pytest
from rclpy.parameter import Parameter

from td3_driving.core.config_base import ConfigError
from td3_driving.ros.params import declare_config
from td3_driving.task.reward import RewardConfig


def test_parameters_carry_the_dataclass_description_and_range(graph):
    node = graph.node("params_doc")
    cfg = declare_config(node, RewardConfig, "reward")
    assert cfg == RewardConfig()
    desc = node.describe_parameter("reward.target_speed")
    assert "m/s" in desc.description and desc.read_only
    assert desc.floating_point_range[0].from_value == pytest.approx(0.1)


def test_overrides_reach_the_frozen_config(graph):
    node = graph.node("params_override", parameter_overrides=[
        Parameter("reward.off_road_steps", value=3)])
    assert declare_config(node, RewardConfig, "reward").off_road_steps == 3


@pytest.mark.parametrize("override", [
    Parameter("reward.target_speed", value=-1.0),      # outside the declared range
    Parameter("reward.off_road_steps", value="many"),  # wrong type
])
def test_bad_values_are_config_errors_naming_the_parameter(graph, override):
    node = graph.node("params_bad", parameter_overrides=[override])
    with pytest.raises(ConfigError, match=override.name):
        declare_config(node, RewardConfig, "reward")
