"""Which nodes a stack starts, with which parameters: the one source of truth.

The launch files (launch/*.launch.py, for `ros2 launch`) and the starter for machines
without `launch` (td3_driving/launcher.py, behind `make train`) both build their nodes from
these descriptions, so the two can never disagree. Plain Python: no launch or rclpy import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "td3_driving"

# Topics shared by all agents and the learner. Absolute so that agents in their vehicle's
# namespace and the learner at the root meet; remap them like any other name.
REPLAY_TOPIC = "/td3/replay"
WEIGHTS_TOPIC = "/td3/policy_weights"
EPISODE_STATS_TOPIC = "/td3/episode_stats"
LEARNER_STATUS_TOPIC = "/td3/learner_status"

# name -> (default, description): the arguments of train/drive/sim launches and of the
# pip-only starter. Values are strings, as launch arguments are.
ARGUMENTS: dict[str, tuple[str, str]] = {
    "num_agents": ("1", "Number of vehicles, each with its own simulator and agent."),
    "sim": ("carracing", "Simulator: 'carracing' starts the embedded sim_bridge per vehicle; "
                         "'carla' starts none and uses a running carla-ros-bridge."),
    "params_file": ("", "Params YAML for all nodes (default: share/td3_driving/config/"
                        "train.yaml)."),
    "reward_file": ("", "Reward params YAML (default: share/td3_driving/config/reward.yaml)."),
    "run_dir": ("runs/latest", "Run directory: checkpoints, policy artifact, TensorBoard logs, "
                               "results.json."),
    "resume": ("false", "Resume the learner from run_dir's latest complete checkpoint."),
    "seed": ("0", "Seed of the learner, the agents' exploration and the simulators' tracks."),
    "use_sim_time": ("true", "Nodes follow /clock from the simulator (or the CARLA bridge)."),
    "log_level": ("info", "Log level of all nodes: debug, info, warn, error."),
    "policy": ("", "Policy artifact (.safetensors) to drive with (drive launch only)."),
    "role_name": ("ego_vehicle", "Vehicle role name for single-vehicle launches "
                                 "(drive, vehicle, sim)."),
    "vehicle_index": ("0", "Index of the vehicle in its stack (vehicle.launch.py): vehicle 0 "
                           "owns /clock; each index drives its own tracks."),
    "mode": ("train", "Agent mode (vehicle.launch.py): 'train' or 'drive'."),
}

MAX_CARLA_AGENTS = 10  # the bridge accepts hero0..hero9


@dataclass(frozen=True)
class NodeSpec:
    """One node to start: what `launch_ros.actions.Node` or a plain process needs."""

    executable: str
    name: str
    namespace: str = ""
    params_files: tuple[str, ...] = ()
    parameters: tuple[tuple[str, object], ...] = ()
    remappings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Group:
    """Nodes that share a namespace: one vehicle's simulator and agent."""

    namespace: str
    nodes: tuple[NodeSpec, ...]


@dataclass(frozen=True)
class StackArgs:
    """Resolved arguments of a stack (see ARGUMENTS for their meaning)."""

    num_agents: int = 1
    sim: str = "carracing"
    params_file: str = ""
    reward_file: str = ""
    run_dir: str = "runs/latest"
    resume: bool = False
    seed: int = 0
    use_sim_time: bool = True
    log_level: str = "info"
    policy: str = ""
    role_name: str = "ego_vehicle"
    vehicle_index: int = 0
    mode: str = "train"

    @classmethod
    def from_strings(cls, values: dict[str, str]) -> "StackArgs":
        """Parse launch-argument strings; a bad value raises ValueError naming it."""
        def as_bool(name: str) -> bool:
            v = values.get(name, ARGUMENTS[name][0]).strip().lower()
            if v not in ("true", "false", "1", "0"):
                raise ValueError(f"launch argument {name}:={v!r} must be true or false")
            return v in ("true", "1")

        def as_int(name: str, low: int) -> int:
            v = values.get(name, ARGUMENTS[name][0])
            try:
                n = int(v)
            except ValueError:
                raise ValueError(f"launch argument {name}:={v!r} must be an integer") from None
            if n < low:
                raise ValueError(f"launch argument {name}:={n} must be >= {low}")
            return n

        def get(name: str) -> str:
            return values.get(name, ARGUMENTS[name][0])

        if get("mode") not in ("train", "drive"):
            raise ValueError(f"launch argument mode:={get('mode')!r} must be 'train' or 'drive'")
        args = cls(num_agents=as_int("num_agents", 1), sim=get("sim"),
                   params_file=get("params_file"), reward_file=get("reward_file"),
                   run_dir=get("run_dir"), resume=as_bool("resume"), seed=as_int("seed", 0),
                   use_sim_time=as_bool("use_sim_time"), log_level=get("log_level"),
                   policy=get("policy"), role_name=get("role_name"),
                   vehicle_index=as_int("vehicle_index", 0), mode=get("mode"))
        if args.sim not in ("carracing", "carla"):
            raise ValueError(f"launch argument sim:={args.sim!r} must be 'carracing' or 'carla'")
        if args.sim == "carla" and args.num_agents > MAX_CARLA_AGENTS:
            raise ValueError(f"num_agents:={args.num_agents}: carla-ros-bridge accepts at most "
                             f"{MAX_CARLA_AGENTS} hero vehicles (hero0..hero9)")
        return args


def share_dir() -> Path:
    """share/td3_driving of the installed package, or the source tree's root."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE))
    except Exception:  # not installed (pip-only core): use the source tree's config/
        return Path(__file__).resolve().parents[2]


def config_file(name: str) -> str:
    """Path of a shipped file under config/, e.g. "train.yaml"."""
    return str(share_dir() / "config" / name)


def role_names(num_agents: int) -> list[str]:
    """Names the bridge accepts: ego_vehicle for one vehicle, hero0..heroN-1 for several."""
    return ["ego_vehicle"] if num_agents == 1 else [f"hero{i}" for i in range(num_agents)]


def _common(args: StackArgs) -> tuple[tuple[str, object], ...]:
    return (("use_sim_time", args.use_sim_time),)


def _params_files(args: StackArgs) -> tuple[str, ...]:
    return (args.params_file or config_file("train.yaml"),
            args.reward_file or config_file("reward.yaml"))


def sim_bridge(role: str, index: int, args: StackArgs) -> NodeSpec:
    """The embedded simulator of one vehicle; the first one owns /clock and /carla/status."""
    return NodeSpec(
        executable="sim_bridge", name="sim_bridge", namespace=role,
        params_files=_params_files(args)[:1],
        parameters=(("role_name", role), ("owns_clock", index == 0),
                    # Different vehicles drive different tracks of the seed schedule.
                    ("carracing.seed", args.seed * 1000 + index * 100_000),
                    ("use_sim_time", False)))


def agent(role: str, index: int, args: StackArgs, mode: str) -> NodeSpec:
    """The agent of one vehicle: 'train' (explores, sends experience) or 'drive'."""
    params = [("role_name", role), ("mode", mode), ("seed", args.seed * 1000 + index)]
    if mode == "drive":
        params.append(("policy_file", args.policy))
    return NodeSpec(executable="agent", name="agent", namespace=role,
                    params_files=_params_files(args), parameters=tuple(params) + _common(args))


def learner(args: StackArgs) -> NodeSpec:
    return NodeSpec(executable="learner", name="learner", params_files=_params_files(args)[:1],
                    parameters=(("run_dir", os.path.abspath(args.run_dir)),
                                ("resume", args.resume), ("seed", args.seed)) + _common(args))


def vehicle_group(role: str, index: int, args: StackArgs, mode: str) -> Group:
    nodes = [agent(role, index, args, mode)]
    if args.sim == "carracing":
        nodes.insert(0, sim_bridge(role, index, args))
    return Group(namespace=role, nodes=tuple(nodes))


def training_stack(args: StackArgs) -> list[Group]:
    """num_agents vehicles (simulator + agent each) and one learner."""
    groups = [vehicle_group(role, i, args, "train")
              for i, role in enumerate(role_names(args.num_agents))]
    return groups + [Group(namespace="", nodes=(learner(args),))]


def drive_stack(args: StackArgs) -> list[Group]:
    """One vehicle driven by a policy artifact; no learner, no experience."""
    if not args.policy:
        raise ValueError("drive needs policy:=<file.safetensors> (a policy artifact exported "
                         "by the learner, e.g. <run_dir>/policy.safetensors)")
    return [vehicle_group(args.role_name, 0, args, "drive")]
