"""The learner node alone (e.g. on a GPU host while agents run elsewhere)."""

from launch import LaunchDescription
from launch.actions import OpaqueFunction

from td3_driving.bringup import launch_support, stack

ARGS = ["params_file", "reward_file", "run_dir", "resume", "seed", "log_level"]


def _learner(context):
    args = launch_support.resolve(context, ARGS)
    return [launch_support.node(stack.learner(args), args.log_level)]


def generate_launch_description():
    return LaunchDescription(launch_support.declare_arguments(ARGS)
                             + launch_support.transport_environment()
                             + [OpaqueFunction(function=_learner)])
