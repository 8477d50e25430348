"""config/sim.yaml, launch/sim.launch.py and the rviz config agree with the code (ROS-free)."""

import ast
from pathlib import Path

import yaml

from td3_driving.core.config_base import load_yaml
from td3_driving.sim.config import ReferenceControllerConfig, SimBridgeConfig

ROOT = Path(__file__).resolve().parents[2]


def test_sim_yaml_holds_only_declared_parameters_in_range():
    path = ROOT / "config" / "sim.yaml"
    sim = load_yaml(path, SimBridgeConfig, section="/**/sim_bridge")  # unknown keys raise
    ctl = load_yaml(path, ReferenceControllerConfig, section="/**/reference_controller")
    assert sim.frames_per_tick == 4 and sim.carracing.max_episode_frames == 1000
    assert ctl.pursuit.max_speed_mps > 0


def _calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def test_every_launch_configuration_is_declared_with_a_description():
    tree = ast.parse((ROOT / "launch" / "sim.launch.py").read_text())
    used = {c.args[0].value for c in _calls(tree, "LaunchConfiguration")}
    declared = {c.args[0].value: {k.arg for k in c.keywords}
                for c in _calls(tree, "DeclareLaunchArgument")}
    assert used == {"role_name", "params_file", "use_sim_time", "log_level",
                    "with_reference_controller"}
    assert used <= set(declared)
    assert all({"default_value", "description"} <= kw for kw in declared.values())
    executables = {k.value.value for c in _calls(tree, "Node") for k in c.keywords
                   if k.arg == "executable"}
    assert executables == {"sim_bridge", "reference_controller"}
    assert (ROOT / "td3_driving" / "nodes" / "sim_bridge.py").exists()


def test_rviz_config_shows_camera_waypoints_odometry_and_tf_in_map():
    cfg = yaml.safe_load((ROOT / "config" / "rviz" / "td3_driving.rviz").read_text())
    vm = cfg["Visualization Manager"]
    assert vm["Global Options"]["Fixed Frame"] == "map"
    topics = {d["Class"].split("/")[-1]: d.get("Topic", {}) for d in vm["Displays"]}
    images = {d["Topic"]["Value"] for d in vm["Displays"] if d["Class"].endswith("/Image")}
    # the camera, and the agent's processed observation (plus its action/reward marker)
    assert images == {"/carla/ego_vehicle/rgb_front/image", "/ego_vehicle/agent/observation"}
    assert topics["Marker"]["Value"] == "/ego_vehicle/agent/status_marker"
    assert topics["Path"]["Value"] == "/carla/ego_vehicle/waypoints"
    assert topics["Path"]["Durability Policy"] == "Transient Local"  # the bridge latches it
    assert topics["Odometry"]["Value"] == "/carla/ego_vehicle/odometry"
    assert "TF" in topics
