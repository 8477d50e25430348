"""Inference only: drive with a policy artifact; no learner, no experience.

    ros2 launch td3_driving drive.launch.py policy:=runs/latest/policy.safetensors
    ros2 launch td3_driving drive.launch.py policy:=... sim:=carla role_name:=hero0

With sim:=carla no simulator is started: the agent drives whatever carla-ros-bridge
publishes for role_name.
"""

from pathlib import Path

from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription, OpaqueFunction
from launch.launch_description_sources import PythonLaunchDescriptionSource

from td3_driving.bringup import launch_support, stack

ARGS = ["policy", "sim", "role_name", "params_file", "reward_file", "seed", "use_sim_time",
        "log_level"]
HERE = Path(__file__).resolve().parent


def _vehicle(context):
    args = launch_support.resolve(context, ARGS)
    stack.drive_stack(args)   # validates: a policy file is required
    forwarded = {n: context.launch_configurations[n] for n in ARGS}
    return [IncludeLaunchDescription(
        PythonLaunchDescriptionSource(str(HERE / "vehicle.launch.py")),
        launch_arguments=list({**forwarded, "vehicle_index": "0", "mode": "drive"}.items()))]


def generate_launch_description():
    return LaunchDescription(launch_support.declare_arguments(ARGS)
                             + launch_support.transport_environment()
                             + [OpaqueFunction(function=_vehicle)])
