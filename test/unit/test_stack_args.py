"""bringup.stack: launch arguments and StackArgs are one declaration (no second default)."""

import dataclasses

import pytest

from td3_driving.bringup import stack


def test_every_launch_argument_is_a_stack_args_field_with_its_default():
    fields = {f.name: f for f in dataclasses.fields(stack.StackArgs)}
    assert set(stack.ARGUMENTS) == set(fields)
    parsed = stack.StackArgs.from_strings({})
    assert parsed == stack.StackArgs()     # the string defaults parse to the field defaults
    for name, (default, doc) in stack.ARGUMENTS.items():
        assert doc == fields[name].metadata["doc"] and doc
        assert isinstance(default, str)


@pytest.mark.parametrize("values, message", [
    ({"num_agents": "0"}, "num_agents:=0 must be >= 1"),
    ({"seed": "x"}, "seed:='x' must be an integer"),
    ({"resume": "yes"}, "resume:='yes' must be true or false"),
    ({"mode": "race"}, "mode:='race' must be 'train' or 'drive'"),
    ({"sim": "gazebo"}, "sim:='gazebo' must be 'carracing' or 'carla'"),
    ({"sim": "carla", "num_agents": "11"}, "at most 10 hero vehicles"),
])
def test_a_bad_launch_argument_is_named(values, message):
    with pytest.raises(ValueError, match=message):
        stack.StackArgs.from_strings(values)


def test_strings_parse_to_typed_values():
    args = stack.StackArgs.from_strings({"num_agents": "3", "resume": "true", "seed": "7",
                                         "use_sim_time": "0", "mode": "drive"})
    assert (args.num_agents, args.resume, args.seed, args.use_sim_time, args.mode) == \
        (3, True, 7, False, "drive")
