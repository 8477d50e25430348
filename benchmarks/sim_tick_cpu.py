#!/usr/bin/env python3
"""CPU milliseconds per tick of sim_bridge in lockstep, driven like the training stack.

    ./env.sh python -m benchmarks.sim_tick_cpu [--ticks 1000] [--warmup 50]
        [--profile N] [--legacy]

Starts ``python -m td3_driving.nodes.sim_bridge`` as its own process (lockstep: wait for
the control command on; 96x84 camera, 0.08 s ticks) and a driver in this process that
subscribes to what the agent node subscribes to (image, odometry, vehicle_status,
collision, lane_invasion, waypoints) and answers each odometry with one command stamped
with that frame (steering on a sine, throttle 0.5). After ``--warmup`` ticks it reads the
simulator process's CPU time (utime + stime from /proc) over ``--ticks`` ticks and prints
CPU ms per tick, wall ticks/s and the machine's load average.

``--profile N`` instead runs the node in this process under cProfile for N ticks (with the
same driver) and prints the 15 entries with the largest cumulative time below the tick.
``--legacy`` omits parameters that older versions of the node did not declare; with
``--source DIR`` the simulator runs from another checkout (a before/after comparison).

A benchmark, not a test: it prints numbers and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import pstats
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

from benchmarks.common import private_ros_domain
from td3_driving.bringup.usage import cpu_seconds
from td3_driving.ros import qos

ROOT = Path(__file__).resolve().parents[1]
LOCKSTEP = {"synchronous_mode_wait_for_vehicle_control_command": True,
            "control_timeout_s": 5.0}


class Driver:
    """Subscribes like the agent; answers each odometry with one stamped command."""

    def __init__(self, node, role: str = "ego_vehicle"):
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


def spin_until(executor, cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return cond()


def measure(ticks: int, warmup: int, legacy: bool, source: Path) -> None:
    params = {"synchronous_mode": True, "control_timeout_s": 5.0} if legacy else LOCKSTEP
    args = [sys.executable, "-m", "td3_driving.nodes.sim_bridge", "--ros-args",
            "--log-level", "warn"]
    for k, v in params.items():
        args += ["-p", f"{k}:={str(v).lower() if isinstance(v, bool) else v}"]
    env = dict(os.environ, PYTHONPATH=f"{source}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.Popen(args, cwd=source, env=env)
    rclpy.init()
    node = rclpy.create_node("sim_tick_bench_driver")
    driver = Driver(node)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    try:
        if not spin_until(ex, lambda: driver.ticks >= warmup, 120.0):
            raise SystemExit(f"sim_bridge did not reach {warmup} ticks")
        c0, t0, n0 = cpu_seconds(proc.pid), time.monotonic(), driver.ticks
        if not spin_until(ex, lambda: driver.ticks >= n0 + ticks, 600.0):
            raise SystemExit("sim_bridge stalled")
        c1, t1, n1 = cpu_seconds(proc.pid), time.monotonic(), driver.ticks
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        node.destroy_node()
        rclpy.shutdown()
    n = n1 - n0
    print(f"sim_bridge: {n} ticks, CPU {1000 * (c1 - c0) / n:.2f} ms/tick, "
          f"{n / (t1 - t0):.1f} ticks/s wall, load average {os.getloadavg()[0]:.2f}")


def profile(ticks: int, legacy: bool) -> None:
    from rclpy.parameter import Parameter

    from td3_driving.nodes.sim_bridge import SimBridgeNode

    params = {"synchronous_mode": True, "control_timeout_s": 5.0} if legacy else LOCKSTEP
    rclpy.init()
    sim = SimBridgeNode(parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    node = rclpy.create_node("sim_tick_bench_driver")
    driver = Driver(node)
    ex = SingleThreadedExecutor()
    ex.add_node(sim)
    ex.add_node(node)
    spin_until(ex, lambda: driver.ticks >= 20, 60.0)
    prof = cProfile.Profile()
    n0 = driver.ticks
    prof.enable()
    spin_until(ex, lambda: driver.ticks >= n0 + ticks, 600.0)
    prof.disable()
    sim.close()
    rclpy.shutdown()
    print(f"cProfile over {driver.ticks - n0} ticks (driver included): top 25 by cumulative "
          "time, then top 15 by own time")
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ticks", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--profile", type=int, default=0, metavar="N")
    ap.add_argument("--legacy", action="store_true")
    ap.add_argument("--source", type=Path, default=ROOT,
                    help="tree whose td3_driving runs as the simulator (default: this one)")
    a = ap.parse_args()
    threading.current_thread().name = "bench"
    # another stack's controller on this domain would command our simulator too
    private_ros_domain()
    if a.profile:
        profile(a.profile, a.legacy)
    else:
        measure(a.ticks, a.warmup, a.legacy, a.source.resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
