"""launch/*.launch.py are valid launch_ros descriptions that start what bringup.stack says.

Needs the ROS 2 `launch` and `launch_ros` packages, which exist on ROS 2 installs but on no
package registry, so this module skips on pip-only machines (CI). Where they are present
(a ROS 2 install, or the local build described in docs/ros2_launch_check.md) each launch
file is loaded from its path and visited with a LaunchContext, the way `ros2 launch` does,
down to the launch_ros Node actions; nodes are never started. A Node's command line is
expanded exactly as Node.execute would, and compared with the stack's NodeSpec.
"""

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest
import yaml

_WHY = ("needs the ROS 2 `launch`/`launch_ros` packages (on ROS 2 installs only, not on "
        "PyPI); see docs/ros2_launch_check.md for running them on a pip-only machine")
launch = pytest.importorskip("launch", reason=_WHY)
pytest.importorskip("launch_ros", reason=_WHY)

from launch import Action, LaunchContext, LaunchDescription  # noqa: E402
from launch.actions import DeclareLaunchArgument  # noqa: E402
from launch.substitutions import LaunchConfiguration  # noqa: E402
from launch.utilities import perform_substitutions  # noqa: E402
from launch_ros.actions import Node  # noqa: E402

from td3_driving.bringup import launch_support, stack  # noqa: E402

LAUNCH_DIR = Path(__file__).resolve().parents[2] / "launch"
LAUNCH_FILES = sorted(p.name for p in LAUNCH_DIR.glob("*.launch.py"))


def load(name: str) -> LaunchDescription:
    """generate_launch_description() of launch/<name>, imported from its path."""
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), LAUNCH_DIR / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


class Visit:
    """What visiting a description produced: declared arguments, configurations read, Nodes."""

    def __init__(self):
        self.declared: dict[str, DeclareLaunchArgument] = {}
        self.read: set[str] = set()
        self.nodes: list[dict] = []


@pytest.fixture
def visit(monkeypatch, tmp_path):
    """visit(name, **arguments): visit launch/<name> as `ros2 launch ... name:=value` would."""
    # SetEnvironmentVariable writes os.environ (restored below); Node writes the dict of its
    # parameters to a temp file (kept in tmp_path).
    saved_env = dict(os.environ)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def run(name: str, **arguments: str) -> Visit:
        result = Visit()
        original = LaunchConfiguration.perform

        def recording_perform(self, context):
            result.read.add(perform_substitutions(context, self.variable_name))
            return original(self, context)

        monkeypatch.setattr(LaunchConfiguration, "perform", recording_perform)
        context = LaunchContext()
        context.launch_configurations.update(arguments)   # what `name:=value` does
        _walk([load(name)], context, result)
        monkeypatch.setattr(LaunchConfiguration, "perform", original)
        return result

    yield run
    os.environ.clear()
    os.environ.update(saved_env)


def _walk(entities, context: LaunchContext, result: Visit) -> None:
    for entity in entities:
        if isinstance(entity, Action) and entity.condition is not None \
                and not entity.condition.evaluate(context):
            continue
        if isinstance(entity, DeclareLaunchArgument):
            result.declared[entity.name] = entity
        if isinstance(entity, Node):
            result.nodes.append(_node_command(entity, context))
            continue   # visiting a Node would start its process
        _walk(entity.visit(context) or [], context, result)


def _node_command(node: Node, context: LaunchContext) -> dict:
    """The node's expanded command line, as Node.execute builds it before spawning."""
    # launch_ros' own tests use this too: it expands name, namespace, parameters, remaps.
    node._perform_substitutions(context)
    name = node.node_name.rsplit("/", 1)[-1]
    namespace = node.expanded_node_namespace
    context.extend_locals({"ros_specific_arguments": {
        "name": f"__node:={name}", "ns": f"__ns:={namespace}"}})
    cmd = [perform_substitutions(context, part) for part in node.cmd]
    files = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--params-file"]
    # No namespace given (the learner): no __ns remap, the node runs in the root namespace.
    unspecified = namespace == Node.UNSPECIFIED_NODE_NAMESPACE
    return {"fqn": f"/{name}" if unspecified else node.node_name,
            "params_key": "/**" if unspecified else node.node_name,
            "package": node.node_package, "executable": node.node_executable,
            "cmd": cmd, "params_files": files, "action": node}


def _inline_parameters(entry: dict) -> dict:
    """The parameters launch_ros wrote to a temp YAML for the node's dict (its last file)."""
    with open(entry["params_files"][-1]) as f:
        data = yaml.safe_load(f)
    assert list(data) == [entry["params_key"]], f"temp params file keyed {list(data)}"
    return data[entry["params_key"]]["ros__parameters"]


def _assert_matches(nodes: list[dict], groups: list[stack.Group], log_level: str = "info"):
    expected = {f"/{s.namespace}/{s.name}" if s.namespace else f"/{s.name}": s
                for g in groups for s in g.nodes}
    assert sorted(n["fqn"] for n in nodes) == sorted(expected)
    for entry in nodes:
        spec = expected[entry["fqn"]]
        assert entry["package"] == stack.PACKAGE
        assert entry["executable"] == spec.executable
        assert Path(entry["cmd"][0]).name == spec.executable
        assert entry["params_files"][:-1] == list(spec.params_files), entry["fqn"]
        assert _inline_parameters(entry) == dict(spec.parameters), entry["fqn"]
        for src, dst in spec.remappings:
            assert f"{src}:={dst}" in entry["cmd"]
        level = entry["cmd"].index("--log-level")
        assert entry["cmd"][level + 1] == log_level


@pytest.mark.parametrize("name", LAUNCH_FILES)
def test_every_argument_is_declared_with_a_description(name, visit, tmp_path):
    arguments = {"policy": str(tmp_path / "policy.safetensors")} if name == "drive.launch.py" \
        else {}
    result = visit(name, **arguments)
    top_level = {a.name for a in load(name).get_launch_arguments()}
    assert top_level, f"{name} declares no arguments"
    # Every configuration read anywhere (own file, included files, OpaqueFunctions) is
    # declared in the description, and the file's own arguments show in --show-args.
    undeclared = result.read - set(result.declared)
    assert not undeclared, f"{name}: LaunchConfiguration without DeclareLaunchArgument"
    assert top_level <= set(result.declared)
    for arg in result.declared.values():
        assert arg.description and arg.description.strip() \
            and arg.description != "no description given", f"{name}: {arg.name}"
    assert result.nodes, f"{name} starts no node"


def test_every_launch_file_is_tested():
    assert {"train.launch.py", "vehicle.launch.py", "drive.launch.py",
            "learner.launch.py"} <= set(LAUNCH_FILES)


@pytest.mark.parametrize("num_agents,sim", [("1", "carracing"), ("2", "carracing"),
                                            ("3", "carla")])
def test_train_starts_the_training_stack(num_agents, sim, visit, tmp_path):
    run_dir = str(tmp_path / "run")
    result = visit("train.launch.py", num_agents=num_agents, sim=sim, run_dir=run_dir,
                   seed="3", log_level="warn")
    args = stack.StackArgs.from_strings({"num_agents": num_agents, "sim": sim,
                                         "run_dir": run_dir, "seed": "3", "log_level": "warn"})
    _assert_matches(result.nodes, stack.training_stack(args), log_level="warn")
    roles = {n["fqn"].split("/")[1] for n in result.nodes if n["executable"] == "agent"}
    assert roles == set(stack.role_names(int(num_agents)))


def test_learner_gets_time_to_write_its_final_checkpoint(visit, tmp_path):
    result = visit("train.launch.py", run_dir=str(tmp_path / "run"))
    for entry in result.nodes:
        timeout = perform_substitutions(LaunchContext(), entry["action"].sigterm_timeout)
        want = launch_support.SIGTERM_TIMEOUT_S.get(entry["executable"])
        if want is not None:
            assert float(timeout) == want
        else:   # launch's default: the sigterm_timeout launch configuration (5 s)
            assert isinstance(entry["action"].sigterm_timeout[0], LaunchConfiguration)


@pytest.mark.parametrize("mode", ["train", "drive"])
def test_vehicle_starts_one_namespaced_vehicle(mode, visit, tmp_path):
    policy = str(tmp_path / "policy.safetensors") if mode == "drive" else ""
    result = visit("vehicle.launch.py", role_name="hero1", vehicle_index="1", mode=mode,
                   policy=policy)
    args = stack.StackArgs.from_strings({"role_name": "hero1", "vehicle_index": "1",
                                         "mode": mode, "policy": policy})
    _assert_matches(result.nodes, [stack.vehicle_group("hero1", 1, args, mode)])


@pytest.mark.parametrize("sim", ["carracing", "carla"])
def test_drive_starts_one_vehicle_with_the_policy(sim, visit, tmp_path):
    policy = str(tmp_path / "policy.safetensors")
    result = visit("drive.launch.py", policy=policy, sim=sim, role_name="hero0")
    args = stack.StackArgs.from_strings({"policy": policy, "sim": sim, "role_name": "hero0"})
    _assert_matches(result.nodes, stack.drive_stack(args))
    agent = next(n for n in result.nodes if n["executable"] == "agent")
    assert _inline_parameters(agent)["policy_file"] == policy
    assert _inline_parameters(agent)["mode"] == "drive"


def test_drive_without_a_policy_is_refused(visit):
    with pytest.raises(ValueError, match="policy"):
        visit("drive.launch.py")


def test_learner_alone(visit, tmp_path):
    run_dir = str(tmp_path / "run")
    result = visit("learner.launch.py", run_dir=run_dir, resume="true", seed="5")
    args = stack.StackArgs.from_strings({"run_dir": run_dir, "resume": "true", "seed": "5"})
    _assert_matches(result.nodes, [stack.Group("", (stack.learner(args),))])


@pytest.mark.parametrize("user_value", [None, "/somewhere/profile.xml"])
def test_transport_environment_defaults_to_the_shipped_profile(user_value, visit, monkeypatch,
                                                               tmp_path):
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)
    if user_value is None:
        monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    else:
        monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", user_value)
    visit("train.launch.py", run_dir=str(tmp_path / "run"))
    assert os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] == (
        user_value or stack.config_file("fastdds_profile.xml"))
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
