"""The embedded simulator alone, optionally driven by the pure-pursuit reference controller.

    ros2 launch td3_driving sim.launch.py
    ros2 launch td3_driving sim.launch.py with_reference_controller:=true role_name:=hero0
    rviz2 -d $(ros2 pkg prefix td3_driving)/share/td3_driving/config/rviz/td3_driving.rviz

sim_bridge publishes the carla-ros-bridge topics under /carla/<role_name>/ and is itself
the /clock source, so it never runs on sim time; use_sim_time applies to the controller.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    role_name = LaunchConfiguration("role_name")
    params_file = LaunchConfiguration("params_file")
    log_level = LaunchConfiguration("log_level")
    ros_args = ["--ros-args", "--log-level", log_level]
    return LaunchDescription([
        DeclareLaunchArgument("role_name", default_value="ego_vehicle",
                              description="Ego vehicle name: topics under /carla/<role_name>/."),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([FindPackageShare("td3_driving"), "config",
                                                "sim.yaml"]),
            description="Params YAML with sim_bridge and reference_controller blocks."),
        DeclareLaunchArgument("use_sim_time", default_value="true",
                              description="The reference controller follows /clock."),
        DeclareLaunchArgument("log_level", default_value="info",
                              description="Log level of the nodes: debug, info, warn, error."),
        DeclareLaunchArgument("with_reference_controller", default_value="false",
                              description="Also start the pure-pursuit reference controller."),
        Node(package="td3_driving", executable="sim_bridge", name="sim_bridge",
             parameters=[params_file, {"role_name": role_name, "use_sim_time": False}],
             arguments=ros_args, output="screen", emulate_tty=True),
        Node(package="td3_driving", executable="reference_controller",
             name="reference_controller",
             parameters=[params_file, {"role_name": role_name,
                                       "use_sim_time": LaunchConfiguration("use_sim_time")}],
             arguments=ros_args, output="screen", emulate_tty=True,
             condition=IfCondition(LaunchConfiguration("with_reference_controller"))),
    ])
