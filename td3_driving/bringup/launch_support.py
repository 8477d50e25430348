"""Turn td3_driving.bringup.stack descriptions into launch_ros actions (used by launch/*.py only).

This is the one module that imports `launch`/`launch_ros`, which exist on ROS 2 installs
but not on a pip-only machine; the pip-only starter (td3_driving.bringup.launcher) reads the same
stack descriptions instead.
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument, GroupAction, SetEnvironmentVariable
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node, PushRosNamespace

from td3_driving.bringup import stack

# Seconds a node gets after Ctrl-C (SIGINT) before launch escalates to SIGTERM; launch's own
# default is 5 s. The learner writes its final checkpoint (with the replay buffer when
# save_buffer_in_checkpoint is set: ~7 KB per step of replay.capacity), policy artifact and
# results.json on shutdown; the pip-only starter (td3_driving.bringup.launcher) gives it 120 s too.
SIGTERM_TIMEOUT_S = {"learner": 120.0}


def declare_arguments(names: list[str]) -> list[DeclareLaunchArgument]:
    """DeclareLaunchArgument with default and description for each name in stack.ARGUMENTS."""
    return [DeclareLaunchArgument(n, default_value=stack.ARGUMENTS[n][0],
                                  description=stack.ARGUMENTS[n][1]) for n in names]


def resolve(context, names: list[str]) -> stack.StackArgs:
    """The launch arguments' values as StackArgs (raises ValueError naming a bad one)."""
    return stack.StackArgs.from_strings(
        {n: LaunchConfiguration(n).perform(context) for n in names})


def transport_environment() -> list[SetEnvironmentVariable]:
    """The shipped Fast DDS profile, localhost discovery and single-threaded OpenMP/MKL
    pools, unless the user set their own.
    """
    profile = stack.config_file("fastdds_profile.xml")
    threads = [SetEnvironmentVariable(k, EnvironmentVariable(k, default_value=v))
               for k, v in stack.thread_environment().items()]
    return threads + [
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", EnvironmentVariable(
            "FASTDDS_DEFAULT_PROFILES_FILE", default_value=profile)),
        SetEnvironmentVariable("ROS_AUTOMATIC_DISCOVERY_RANGE", EnvironmentVariable(
            "ROS_AUTOMATIC_DISCOVERY_RANGE", default_value="LOCALHOST")),
    ]


def node(spec: stack.NodeSpec, log_level: str, in_group: bool = False) -> Node:
    """A launch_ros Node for ``spec``; inside a namespaced group the group sets the namespace."""
    extra = {}
    if spec.executable in SIGTERM_TIMEOUT_S:
        extra["sigterm_timeout"] = str(SIGTERM_TIMEOUT_S[spec.executable])
    nice = stack.nice_increment(spec.executable)
    if nice:  # the same placement as the pip-only starter (td3_driving.bringup.stack)
        extra["prefix"] = f"nice -n {nice}"
    return Node(package=stack.PACKAGE, executable=spec.executable, name=spec.name,
                namespace=None if in_group else (spec.namespace or None),
                parameters=[*spec.params_files, dict(spec.parameters)],
                remappings=list(spec.remappings),
                arguments=["--ros-args", "--log-level", log_level], output="screen",
                emulate_tty=True, **extra)


def group(g: stack.Group, log_level: str) -> GroupAction:
    """A vehicle's nodes under PushRosNamespace(<role_name>)."""
    actions = [PushRosNamespace(g.namespace)] if g.namespace else []
    actions += [node(spec, log_level, in_group=bool(g.namespace)) for spec in g.nodes]
    return GroupAction(actions, scoped=True)
