"""Which nodes a stack starts, with which parameters: the one source of truth.

The launch files (launch/*.launch.py, for `ros2 launch`) and the starter for machines
without `launch` (bringup/launcher.py, behind `make train`) both build their nodes from
these descriptions, so the two can never disagree. Plain Python: no launch or rclpy import.
"""

from __future__ import annotations

import os
from dataclasses import Field, dataclass, fields
from pathlib import Path

from td3_driving.core.config_base import param

PACKAGE = "td3_driving"

# Topics shared by all agents and the learner. Absolute so that agents in their vehicle's
# namespace and the learner at the root meet; remap them like any other name.
REPLAY_TOPIC = "/td3/replay"
WEIGHTS_TOPIC = "/td3/policy_weights"
EPISODE_STATS_TOPIC = "/td3/episode_stats"
LEARNER_STATUS_TOPIC = "/td3/learner_status"

MAX_CARLA_AGENTS = 10  # the bridge accepts hero0..hero9

# Process placement (README, "Where the CPU goes"): the learner paces a run (updates per
# env step are capped), so it runs at normal priority and the vehicle nodes one step
# behind it: where they compete for a core, the learner wins and the vehicles take what it
# leaves. No CPU pinning: on a shared machine a pinned learner waits for its busy core
# while another one idles. The vehicles run their math single-threaded (OpenMP/MKL pools
# via the environment); the learner's torch threads follow the idle cores
# (learner/threads.py), because a second update thread next to a busy process slows the
# update down instead (docs/benchmarks.md section 2).
VEHICLE_NICE = 5
PLACEMENT_ENV = "TD3_DRIVING_PLACEMENT"   # "off": every node at the starter's priority


def nice_increment(executable: str) -> int:
    """How much lower than the learner a node runs (0 for the learner)."""
    if os.environ.get(PLACEMENT_ENV, "on") == "off" or executable == "learner":
        return 0
    return VEHICLE_NICE


def thread_environment() -> dict[str, str]:
    """OpenMP / MKL pool sizes for every node, unless the user set them."""
    return {k: os.environ.get(k, "1") for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


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
    """The arguments of train/drive/sim launches and of the pip-only starter, resolved."""

    num_agents: int = param(1, "Number of vehicles, each with its own simulator and agent.",
                            low=1)
    sim: str = param("carracing", "Simulator: 'carracing' starts the embedded sim_bridge per "
                     "vehicle; 'carla' starts none and uses a running carla-ros-bridge.",
                     choices=("carracing", "carla"))
    params_file: str = param("", "Params YAML for all nodes (default: share/td3_driving/"
                             "config/train.yaml).")
    reward_file: str = param("", "Reward params YAML (default: share/td3_driving/config/"
                             "reward.yaml).")
    run_dir: str = param("runs/latest", "Run directory: checkpoints, policy artifact, "
                         "TensorBoard logs, results.json.")
    resume: bool = param(False, "Resume the learner from run_dir's latest complete "
                         "checkpoint.")
    seed: int = param(0, "Seed of the learner, the agents' exploration and the simulators' "
                      "tracks.", low=0)
    use_sim_time: bool = param(True, "Agents follow /clock from the simulator (or the CARLA "
                               "bridge); simulators and the learner run on wall time.")
    log_level: str = param("info", "Log level of all nodes: debug, info, warn, error.")
    policy: str = param("", "Policy artifact (.safetensors) to drive with (drive launch "
                        "only).")
    role_name: str = param("ego_vehicle", "Vehicle role name for single-vehicle launches "
                           "(drive, vehicle, sim).")
    vehicle_index: int = param(0, "Index of the vehicle in its stack (vehicle.launch.py): "
                               "vehicle 0 owns /clock; each index drives its own tracks.",
                               low=0)
    mode: str = param("train", "Agent mode (vehicle.launch.py): 'train' or 'drive'.",
                      choices=("train", "drive"))

    @classmethod
    def from_strings(cls, values: dict[str, str]) -> StackArgs:
        """Parse launch-argument strings; a bad value raises ValueError naming it."""
        kwargs = {f.name: _parse(f, values.get(f.name, ARGUMENTS[f.name][0]))
                  for f in fields(cls)}
        args = cls(**kwargs)
        if args.sim == "carla" and args.num_agents > MAX_CARLA_AGENTS:
            raise ValueError(f"num_agents:={args.num_agents}: carla-ros-bridge accepts at most "
                             f"{MAX_CARLA_AGENTS} hero vehicles (hero0..hero9)")
        return args


def _launch_string(value: object) -> str:
    """A default as a launch argument string (launch arguments are strings)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parse(f: Field, text: str) -> object:
    """One launch-argument string as the type of StackArgs field ``f``, range-checked."""
    name, meta = f.name, f.metadata
    if f.type in ("bool", bool):
        v = text.strip().lower()
        if v not in ("true", "false", "1", "0"):
            raise ValueError(f"launch argument {name}:={v!r} must be true or false")
        return v in ("true", "1")
    if f.type in ("int", int):
        try:
            n = int(text)
        except ValueError:
            raise ValueError(f"launch argument {name}:={text!r} must be an integer") from None
        if meta.get("low") is not None and n < meta["low"]:
            raise ValueError(f"launch argument {name}:={n} must be >= {meta['low']}")
        return n
    choices = meta.get("choices")
    if choices is not None and text not in choices:
        raise ValueError(f"launch argument {name}:={text!r} must be "
                         + " or ".join(repr(c) for c in choices))
    return text


# name -> (default, description) of every StackArgs field, as launch arguments declare them.
ARGUMENTS: dict[str, tuple[str, str]] = {
    f.name: (_launch_string(f.default), f.metadata["doc"]) for f in fields(StackArgs)}


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
    # the reward file too: the learner checks rewards against the agents' reward bound.
    # Wall time, never /clock: its timers are steady anyway (a simulator paused by
    # backpressure stops /clock), and following /clock cost it one callback per tick, most
    # of its CPU while it collects data (README, "Where the CPU goes").
    return NodeSpec(executable="learner", name="learner", params_files=_params_files(args),
                    parameters=(("run_dir", os.path.abspath(args.run_dir)),
                                ("resume", args.resume), ("seed", args.seed),
                                ("use_sim_time", False)))


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


def learner_stack(args: StackArgs) -> list[Group]:
    """The learner alone: the GPU host of a many-hosts run (README, "Many hosts")."""
    return [Group(namespace="", nodes=(learner(args),))]


def vehicle_stack(args: StackArgs) -> list[Group]:
    """One vehicle (``role_name``, ``vehicle_index``) on a host of its own."""
    if args.mode == "drive" and not args.policy:
        raise ValueError("vehicle mode:=drive needs policy:=<file.safetensors>")
    return [vehicle_group(args.role_name, args.vehicle_index, args, args.mode)]
