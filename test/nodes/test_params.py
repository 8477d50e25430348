"""Config dataclasses as ROS parameters: descriptors, overrides, and clear errors."""

import pytest
from rclpy.parameter import Parameter

from td3_driving.core.config_base import ConfigError
from td3_driving.ros.params import check_overrides, declare_config
from td3_driving.task.config import RewardConfig


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


def _node_with_file(graph, tmp_path, name, text, extra=()):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    argv = ["--ros-args", "--params-file", str(path), *extra]
    node = graph.node(name, cli_args=argv)
    declare_config(node, RewardConfig, "reward")
    return node, argv


@pytest.mark.parametrize("block", ["/params_typo", "/**/params_typo", "params_typo", "/**"])
def test_a_misspelled_key_names_itself_the_node_and_the_nearest_name(graph, tmp_path, block):
    node, argv = _node_with_file(graph, tmp_path, "params_typo",
                                 f"{block}:\n  ros__parameters:\n"
                                 "    reward.target_sped: 3.0\n    reward.off_road_steps: 3\n")
    with pytest.raises(ConfigError) as err:
        check_overrides(node, argv)
    text = str(err.value)
    assert "'reward.target_sped'" in text and "/params_typo" in text
    assert "nearest declared name: 'reward.target_speed'" in text
    assert "off_road_steps" not in text          # a declared key is fine


def test_a_misspelled_command_line_override_is_an_error(graph, tmp_path):
    node, argv = _node_with_file(graph, tmp_path, "params_cli", "{}\n",
                                 ["-p", "reward.of_road_steps:=3"])
    with pytest.raises(ConfigError, match=r"'reward.of_road_steps' \(argument -p "
                                          r"reward.of_road_steps:=3\).*'reward.off_road_steps'"):
        check_overrides(node, argv)


def test_a_block_for_all_nodes_may_hold_keys_of_other_nodes(graph, tmp_path):
    # observation.* and td3.* belong to the agent and the learner, not to this node
    node, argv = _node_with_file(graph, tmp_path, "params_shared",
                                 "/**:\n  ros__parameters:\n    observation.stack: 2\n"
                                 "    td3.batch_size: 16\n    use_sim_time: false\n"
                                 "/other_node:\n  ros__parameters:\n    anything: 1\n")
    check_overrides(node, argv)


def test_nested_yaml_maps_are_dotted_names(graph, tmp_path):
    node, argv = _node_with_file(graph, tmp_path, "params_nested",
                                 "/params_nested:\n  ros__parameters:\n    reward:\n"
                                 "      target_speed: 3.0\n      stal_steps: 9\n")
    with pytest.raises(ConfigError, match="'reward.stal_steps'.*'reward.stall_steps'"):
        check_overrides(node, argv)
