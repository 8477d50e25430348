#!/usr/bin/env python3
"""CPU milliseconds per tick of sim_bridge in lockstep, driven like the training stack.

    ./env.sh python -m benchmarks.sim_tick_cpu [--ticks 1000] [--warmup 50]
        [--driver scripted|agent] [--profile FILE] [--profile_agent FILE]
        [--source DIR ...] [--rounds 1] [--json PATH]

Starts ``python -m td3_driving.nodes.sim_bridge`` as its own process (lockstep: wait for
the control command on; 96x84 camera, 0.08 s ticks; OpenMP/BLAS threads as the stack
starts every node: OMP_NUM_THREADS and MKL_NUM_THREADS, 1 unless set, recorded) in a
private ROS domain, and a driver:

- ``scripted`` (default): a driver in this process that subscribes to what the agent node
  subscribes to (image, odometry, vehicle_status, collision, lane_invasion, waypoints) and
  answers each odometry with one command stamped with that frame (steering on a sine,
  throttle 0.5): the simulator's own cost.
- ``agent``: the agent node itself, as the training stack runs it (train mode, on sim time,
  warm-up random actions, no inference; batch_steps 32, settle_ticks 0 as in
  config/train.yaml) with a replay subscriber in this process standing in for the learner:
  episodes end and tracks change as in training, and the agent's CPU per step is measured
  in the same window. This is the stack of docs/benchmarks.md's transport section without
  the learner.

After ``--warmup`` ticks it reads each process's CPU time (utime + stime from /proc) over
``--ticks`` ticks and prints CPU ms per tick, wall ticks/s and the machine's load average.

``--profile FILE`` runs sim_bridge under cProfile over the measured ticks only
(benchmarks/profiled.py), writes the stats to FILE, prints the top entries and records
the shares of PROFILE_PARTS; ``--profile_agent FILE`` does the same for the agent
(``--driver agent``). The CPU figures
of a profiled run include the profiler's cost. With ``--source DIR`` the simulator (and
the agent) run from another checkout (a simulator older than the bridge's
``synchronous_mode_wait_for_vehicle_control_command`` gets the lockstep parameters it
declared); given several times, with ``--rounds R``, every tree runs R times, the trees in
turn, and the record names each tree's commit with its runs and their median.
``--json PATH`` writes the record that docs/benchmarks.md's section on per-step CPU reads.

A benchmark, not a test: it prints numbers and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import rclpy
from carla_msgs.msg import (
    CarlaCollisionEvent,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleStatus,
    CarlaLaneInvasionEvent,
)
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image

from benchmarks.agent_step import agent_command
from benchmarks.common import (
    begin_ros_report,
    compare_trees,
    print_profile,
    profile_shares,
    profiled,
    write_json,
)
from td3_driving.bringup import stack
from td3_driving.bringup.usage import cpu_seconds
from td3_driving.msg import ExperienceBatch
from td3_driving.ros import qos

ROOT = Path(__file__).resolve().parents[1]
ROLE = "ego_vehicle"
LOCKSTEP = {"synchronous_mode_wait_for_vehicle_control_command": True,
            "control_timeout_s": 5.0}


# What a profile (--profile, --profile_agent) is split into in the record: cumulative CPU
# of these functions as shares of the process's profiled total (benchmarks.common).
_EXECUTOR = ("rclpy/executors.py", "_wait_for_ready_callbacks")
_TAKE = ("~", "<built-in method rclpy._rclpy_pybind11.take_message>")
PROFILE_PARTS = {
    "sim_bridge": {
        "the world's tick: CarRacing physics, track resets, drawing": ("td3_driving/sim/world.py",
                                                                       "tick"),
        "... of it drawing the camera view": ("td3_driving/sim/render.py", "render_view"),
        "the frame's messages, built and published": ("td3_driving/ros/sim_publishers.py",
                                                      "frame"),
        "executor turns (rclpy: wait sets, dispatch)": _EXECUTOR,
        "taking the commands (rclpy)": _TAKE},
    "agent": {
        "executor turns (rclpy: wait sets, dispatch)": _EXECUTOR,
        "taking messages (rclpy: conversion to Python)": _TAKE,
        "the agent's callbacks: frames, task, command, experience": (
            "td3_driving/ros/refusals.py", "callback")},
}


class Driver:
    """Subscribes like the agent; answers each odometry with one stamped command."""

    def __init__(self, node, role: str = ROLE):
        ns = f"/carla/{role}"
        self.ticks = 0
        self.pub = node.create_publisher(CarlaEgoVehicleControl, f"{ns}/vehicle_control_cmd",
                                         qos.BRIDGE)
        for t, topic in ((Image, "rgb_front/image"), (CarlaEgoVehicleStatus, "vehicle_status"),
                         (CarlaCollisionEvent, "collision"),
                         (CarlaLaneInvasionEvent, "lane_invasion")):
            node.create_subscription(t, f"{ns}/{topic}", lambda m: None, qos.BRIDGE)
        node.create_subscription(PathMsg, f"{ns}/waypoints", lambda m: None, qos.WAYPOINTS)
        node.create_subscription(Odometry, f"{ns}/odometry", self._on_odom, qos.BRIDGE)

    def _on_odom(self, msg: Odometry) -> None:
        self.ticks += 1
        self.pub.publish(CarlaEgoVehicleControl(
            header=msg.header, steer=0.3 * math.sin(self.ticks / 20.0), throttle=0.5))


class AgentWatch:
    """Counts the agent's commands (one per tick in lockstep) and takes its replay batches."""

    def __init__(self, node, role: str = ROLE):
        self.ticks = self.batches = 0
        node.create_subscription(CarlaEgoVehicleControl, f"/carla/{role}/vehicle_control_cmd",
                                 self._on_command, qos.BRIDGE)
        node.create_subscription(ExperienceBatch, stack.REPLAY_TOPIC, self._on_batch,
                                 qos.REPLAY)

    def _on_command(self, _msg) -> None:
        self.ticks += 1

    def _on_batch(self, _msg) -> None:
        self.batches += 1


def spin_until(executor, cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return cond()


def lockstep_params(source: Path) -> dict:
    """LOCKSTEP, or for a checkout whose simulator predates the bridge's parameter name
    (``synchronous_mode`` alone meant lockstep then), what it declared.
    """
    name = next(iter(LOCKSTEP))
    if any(name in f.read_text() for f in (source / "td3_driving").rglob("*.py")):
        return LOCKSTEP
    return {"synchronous_mode": True, "control_timeout_s": LOCKSTEP["control_timeout_s"]}


def measure(a: argparse.Namespace, source: Path) -> dict:
    ticks, warmup, driver = a.ticks, a.warmup, a.driver
    profiles = {"sim_bridge": a.profile, "agent": a.profile_agent}
    params = lockstep_params(source)
    args = [sys.executable, "-m", "td3_driving.nodes.sim_bridge", "--ros-args",
            "--log-level", "warn"]
    for k, v in params.items():
        args += ["-p", f"{k}:={str(v).lower() if isinstance(v, bool) else v}"]
    # as the stack starts its nodes: one OpenMP / BLAS thread each
    env = dict(os.environ, **stack.thread_environment(),
               PYTHONPATH=f"{source}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    if profiles["sim_bridge"]:
        args = profiled(args, profiles["sim_bridge"])
    procs = {"sim_bridge": subprocess.Popen(args, cwd=source, env=env)}
    rclpy.init()
    node = rclpy.create_node("sim_tick_bench_driver")
    watch = Driver(node) if driver == "scripted" else AgentWatch(node)
    if driver == "agent":
        cmd, agent_env = agent_command(str(source), profiles["agent"], ROLE)
        procs["agent"] = subprocess.Popen(cmd, env=agent_env)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    try:
        if not spin_until(ex, lambda: watch.ticks >= warmup, 120.0):
            raise SystemExit(f"sim_bridge did not reach {warmup} ticks")
        for k, p in procs.items():
            if profiles.get(k):
                p.send_signal(signal.SIGUSR1)   # benchmarks/profiled.py: window opens
        c0 = {k: cpu_seconds(p.pid) for k, p in procs.items()}
        t0, n0 = time.monotonic(), watch.ticks
        if not spin_until(ex, lambda: watch.ticks >= n0 + ticks, 600.0):
            raise SystemExit("sim_bridge stalled")
        c1 = {k: cpu_seconds(p.pid) for k, p in procs.items()}
        t1, n1 = time.monotonic(), watch.ticks
        for k, p in procs.items():
            if profiles.get(k):
                p.send_signal(signal.SIGUSR2)
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGINT)
        for p in procs.values():
            p.wait(timeout=20)
        node.destroy_node()
        rclpy.shutdown()
    n = n1 - n0
    result = {"ticks": n, "sim_params": params,
              "sim_bridge_cpu_ms_per_tick": round(1000 * (c1["sim_bridge"] - c0["sim_bridge"])
                                                  / n, 2),
              "ticks_per_s": round(n / (t1 - t0), 1),
              "load_average_1min": round(os.getloadavg()[0], 2)}
    if driver == "agent":
        result["agent_cpu_ms_per_step"] = round(1000 * (c1["agent"] - c0["agent"]) / n, 2)
        result["replay_batches_received"] = watch.batches
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ticks", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--driver", choices=("scripted", "agent"), default="scripted",
                    help="who commands the simulator: a scripted driver or the agent node")
    ap.add_argument("--profile", metavar="FILE", help="profile sim_bridge; stats to FILE")
    ap.add_argument("--profile_agent", metavar="FILE",
                    help="profile the agent (--driver agent); stats to FILE")
    ap.add_argument("--source", type=Path, action="append",
                    help="tree whose td3_driving runs as the simulator (and agent); default: "
                    "this one; repeat to compare checkouts")
    ap.add_argument("--rounds", type=int, default=1,
                    help="runs of each tree, the trees in turn; the record gives the median")
    ap.add_argument("--json", help="write the record to this path")
    a = ap.parse_args()
    threading.current_thread().name = "bench"
    sources = [s.resolve() for s in a.source or [ROOT]]
    if a.profile_agent and a.driver != "agent":
        ap.error("--profile_agent needs --driver agent")
    if (a.profile or a.profile_agent) and (len(sources) > 1 or a.rounds > 1):
        ap.error("--profile and --profile_agent measure one run of one tree")
    # another stack's controller on this domain would command our simulator too
    report = begin_ros_report("sim_tick_cpu")
    report.update(driver=a.driver, ticks=a.ticks, warmup_ticks=a.warmup, rounds=a.rounds,
                  profiled=bool(a.profile or a.profile_agent),
                  thread_environment=stack.thread_environment())
    figures = ("sim_bridge_cpu_ms_per_tick", "agent_cpu_ms_per_step", "ticks_per_s")
    report["trees"] = compare_trees(sources, a.rounds, lambda s: measure(a, s), figures)
    for tree in report["trees"]:
        agent = (f", agent CPU {tree['agent_cpu_ms_per_step']:.2f} ms/step"
                 if a.driver == "agent" else "")
        print(f"sim_bridge ({a.driver} driver): CPU {tree['sim_bridge_cpu_ms_per_tick']:.2f} "
              f"ms/tick{agent} (median of {a.rounds}), {tree['source']['commit'][:10]} "
              f"{tree['source']['subject']}", flush=True)
    for name, path in (("sim_bridge", a.profile), ("agent", a.profile_agent)):
        if path:
            print_profile(path, f"{name} over the {a.ticks} measured ticks")
            report.setdefault("profile", {})[name] = profile_shares(path, PROFILE_PARTS[name])
    if a.json:
        write_json(report, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
