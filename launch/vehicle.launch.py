"""One vehicle: its embedded simulator (unless sim:=carla) and its agent, in /<role_name>.

Included once per vehicle by train.launch.py and by drive.launch.py, or launched alone on
a host of its own (README, "Many hosts"); the nodes and their parameters come from
td3_driving.bringup.stack, like everywhere else.
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction

from td3_driving.bringup import launch_support, stack

ARGS = ["role_name", "vehicle_index", "mode", "sim", "params_file", "reward_file", "seed",
        "use_sim_time", "log_level", "policy"]


def _vehicle(context):
    args = launch_support.resolve(context, ARGS)
    g = stack.vehicle_group(args.role_name, args.vehicle_index, args, args.mode)
    return [launch_support.group(g, args.log_level)]


def generate_launch_description():
    return LaunchDescription(launch_support.declare_arguments(ARGS)
                             + launch_support.transport_environment()
                             + [OpaqueFunction(function=_vehicle)])
