"""Benchmark: lockstep ticks/s through ROS vs. CarRacing-v3 stepped directly in-process.

    ./env.sh python -m benchmarks.sim_speed [--ticks 1000] [--fixed_delta 0.08]

Three figures at the same physics steps per tick, all driven by the pure-pursuit reference:
  direct   gymnasium.make("CarRacing-v3"), env.step() k times per tick (as every CarRacing
           agent runs it; each env.step renders a frame),
  backend  our ROS-free CarRacingSim.tick() (k physics steps, one render per tick),
  ros      sim_bridge and reference_controller as separate processes in lockstep over DDS,
           counted from /carla/status by this process.
The goal is ros / direct >= benchmarks.goals.SIM_ROS_VS_DIRECT; ros / backend is the price of
the transport.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np

from benchmarks.common import private_ros_domain, spin_until, start_node, stop
from benchmarks.goals import SIM_ROS_VS_DIRECT
from td3_driving.sim.carracing import CarRacingSim, vehicle_state
from td3_driving.sim.config import CarRacingConfig, PurePursuitConfig
from td3_driving.sim.pure_pursuit import PurePursuitDriver
from td3_driving.task.route import Route


def _driver(centerline: np.ndarray) -> PurePursuitDriver:
    d = PurePursuitDriver(PurePursuitConfig())
    d.set_path(Route(Route(centerline, closed=True).resampled(1.0)[:, :2]))
    return d


def bench_direct(ticks: int, k: int, seed: int, dt: float) -> float:
    env = gym.make("CarRacing-v3")
    u, episode = env.unwrapped, 0
    env.reset(seed=seed)
    drv = _driver(np.array([(t[2], t[3]) for t in u.track]))
    t0 = time.perf_counter()
    for _ in range(ticks):
        s = vehicle_state(u)
        c = drv.control(s.x, s.y, s.yaw, s.vx, dt, s.vy)
        for _ in range(k):
            _, _, term, trunc, _ = env.step(np.array([c.steer, c.throttle, c.brake]))
        if term or trunc:
            episode += 1
            env.reset(seed=seed + episode)
            drv = _driver(np.array([(t[2], t[3]) for t in u.track]))
    rate = ticks / (time.perf_counter() - t0)
    env.close()
    return rate


def bench_backend(ticks: int, k: int, seed: int, dt: float) -> float:
    sim = CarRacingSim(CarRacingConfig(seed=seed), k)
    res = sim.reset()
    drv = _driver(sim.centerline())
    t0 = time.perf_counter()
    for _ in range(ticks):
        s = res.state
        c = drv.control(s.x, s.y, s.yaw, s.vx, dt, s.vy)
        res = sim.tick(c.steer, c.throttle, c.brake)
        if res.end_reason:
            res = sim.reset()
            drv = _driver(sim.centerline())
    rate = ticks / (time.perf_counter() - t0)
    sim.close()
    return rate


def bench_ros(ticks: int, warmup: int, seed: int, dt: float) -> float:
    import rclpy
    from carla_msgs.msg import CarlaStatus

    from td3_driving.ros import qos

    lockstep = {"synchronous_mode_wait_for_vehicle_control_command": True}
    procs = [start_node("sim_bridge", {"carracing.seed": seed, "fixed_delta_seconds": dt,
                                       **lockstep}),
             start_node("reference_controller", {})]
    rclpy.init()
    node = rclpy.create_node("bench_sim")
    seen: list[tuple[int, float]] = []
    node.create_subscription(CarlaStatus, "/carla/status",
                             lambda m: seen.append((m.frame, time.perf_counter())), qos.BRIDGE)
    try:
        deadline = time.monotonic() + 60 + ticks / 10
        spin_until(node, procs, lambda: bool(seen) and seen[-1][0] - seen[0][0] >= warmup + ticks,
                   deadline)
    finally:
        node.destroy_node()
        rclpy.shutdown()
        stop(procs)
    start = next(i for i, (f, _) in enumerate(seen) if f - seen[0][0] >= warmup)
    (f0, t0), (f1, t1) = seen[start], seen[-1]
    return (f1 - f0) / (t1 - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=1000, help="ticks measured per mode")
    ap.add_argument("--warmup", type=int, default=50, help="ROS ticks before measuring")
    ap.add_argument("--fixed_delta", type=float, default=0.08, help="seconds per tick")
    ap.add_argument("--seed", type=int, default=0, help="first track seed")
    a = ap.parse_args()
    private_ros_domain()
    k = round(a.fixed_delta / 0.02)
    print(f"{k} physics steps per tick, {a.ticks} ticks, ROS_DOMAIN_ID="
          f"{os.environ['ROS_DOMAIN_ID']}, {os.cpu_count()} CPUs", flush=True)
    direct = bench_direct(a.ticks, k, a.seed, a.fixed_delta)
    print(f"direct  env.step x{k}:          {direct:7.1f} ticks/s", flush=True)
    backend = bench_backend(a.ticks, k, a.seed, a.fixed_delta)
    print(f"backend CarRacingSim.tick:     {backend:7.1f} ticks/s", flush=True)
    ros = bench_ros(a.ticks, a.warmup, a.seed, a.fixed_delta)
    print(f"ros     lockstep over DDS:     {ros:7.1f} ticks/s")
    print(f"ratio ros/direct = {ros / direct:.2f} (goal >= {SIM_ROS_VS_DIRECT}); "
          f"ros/backend = {ros / backend:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
