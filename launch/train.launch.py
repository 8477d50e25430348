"""Training: num_agents vehicles (simulator + agent each) feeding one learner.

    ros2 launch td3_driving train.launch.py num_agents:=2 run_dir:=runs/exp1

Includes vehicle.launch.py once per vehicle (role names from td3_driving.bringup.stack) and
learner.launch.py; `make train` starts the same nodes where `launch` is not installed.
"""

from pathlib import Path

from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource

from td3_driving.bringup import launch_support, stack

ARGS = ["num_agents", "sim", "params_file", "reward_file", "run_dir", "resume", "seed",
        "use_sim_time", "log_level"]
LEARNER_ARGS = ["params_file", "run_dir", "resume", "seed", "log_level"]
HERE = Path(__file__).resolve().parent


def _include(name: str, arguments: dict) -> IncludeLaunchDescription:
    return IncludeLaunchDescription(PythonLaunchDescriptionSource(str(HERE / name)),
                                    launch_arguments=list(arguments.items()))


def _stack(context):
    args = launch_support.resolve(context, ARGS)
    shared = {n: context.launch_configurations[n] for n in ARGS if n in (
        "sim", "params_file", "reward_file", "seed", "use_sim_time", "log_level")}
    actions = []
    for index, role in enumerate(stack.role_names(args.num_agents)):
        actions.append(_include("vehicle.launch.py", {
            **shared, "role_name": role, "vehicle_index": str(index), "mode": "train"}))
    actions.append(_include("learner.launch.py", {
        n: context.launch_configurations[n] for n in LEARNER_ARGS}))
    return actions


def generate_launch_description():
    return LaunchDescription(launch_support.declare_arguments(ARGS)
                             + launch_support.transport_environment()
                             + [OpaqueFunction(function=_stack)])
