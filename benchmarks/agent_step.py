"""Agent CPU per step: one agent process driven in lockstep by a scripted bridge.

    ./env.sh python -m benchmarks.agent_step [--steps 1500] [--warmup 200] [--profile FILE]
        [--source DIR ...] [--rounds 1] [--json PATH]

Starts the installed ``agent`` executable (train mode, on sim time as in the stack, no
learner, no weights: warm-up random actions, no inference; debug topics left at their
defaults, nobody subscribed) and plays carla-ros-bridge for it from this process, in a
private ROS domain: each tick publishes what the embedded simulator sends an agent, in its
order and sizes: a 96x84 bgra8 image, vehicle status, /clock, /carla/status and odometry,
all with one sim-time stamp, and waits for the agent's command before the next. A replay
subscriber is connected, so the agent builds and publishes its experience batches as in
training. OpenMP/BLAS threads are the stack's (OMP_NUM_THREADS and MKL_NUM_THREADS, 1
unless set; recorded). The agent's CPU time (user + system, from /proc) over ``--steps``
steps after ``--warmup`` steps, divided by the steps, is the figure. The route is a circle
of 1,120 waypoints 1 m apart (the length of a CarRacing track) that the scripted vehicle
drives around; episodes end at the reward's step limit, and the scripted bridge answers a
track request or a set_transform by sending the route again, as the embedded simulator
does.

``--source DIR`` runs the agent node from another source tree (e.g. an older commit's
``td3_driving`` with this build's generated messages copied in); given several times, with
``--rounds R``, every tree runs R times, the trees in turn, and the record names each
tree's commit with its runs and their median (a before/after table measured alike).
``--profile FILE`` runs the agent under cProfile over the measured steps only
(benchmarks/profiled.py), writes its stats to FILE and prints the top entries; the CPU
figure of such a run includes the profiler's cost. ``--json PATH`` writes the record
(command, machine, load averages, each tree's commit) that docs/benchmarks.md's section on
per-step CPU reads.

A benchmark, not a test: it prints numbers and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from benchmarks.common import (
    begin_ros_report,
    compare_trees,
    print_profile,
    profiled,
    write_json,
)
from td3_driving.bringup import stack
from td3_driving.bringup.usage import cpu_seconds

ROUTE_POINTS = 1120   # waypoints of a CarRacing track at the simulator's 1 m spacing
SPEED_M_PER_TICK = 0.8


class Bridge:
    """Publishes one vehicle's per-tick topics and counts the agent's commands."""

    def __init__(self, role: str) -> None:
        import rclpy
        from carla_msgs.msg import CarlaEgoVehicleControl, CarlaEgoVehicleStatus, CarlaStatus
        from geometry_msgs.msg import Pose, PoseStamped
        from nav_msgs.msg import Odometry, Path
        from rclpy.executors import SingleThreadedExecutor
        from rosgraph_msgs.msg import Clock as ClockMsg
        from sensor_msgs.msg import Image
        from std_msgs.msg import UInt64

        from td3_driving.msg import ExperienceBatch
        from td3_driving.ros import qos
        from td3_driving.ros.image import array_to_image, rgb_to_bgra

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("bench_agent_bridge", context=self.context)
        ns = f"/carla/{role}"
        pub = self.node.create_publisher
        self.image_pub = pub(Image, f"{ns}/rgb_front/image", qos.BRIDGE)
        self.odom_pub = pub(Odometry, f"{ns}/odometry", qos.BRIDGE)
        self.status_pub = pub(CarlaEgoVehicleStatus, f"{ns}/vehicle_status", qos.BRIDGE)
        self.path_pub = pub(Path, f"{ns}/waypoints", qos.WAYPOINTS)
        self.clock_pub = pub(ClockMsg, "/clock", qos.BRIDGE)   # the agent runs on sim time
        self.carla_status_pub = pub(CarlaStatus, "/carla/status", qos.BRIDGE)
        self.clock = ClockMsg()
        self.carla_status = CarlaStatus(fixed_delta_seconds=0.08, synchronous_mode=True,
                                        synchronous_mode_running=True)
        self.commands = 0
        self.batches = 0
        self.cond = threading.Condition()
        self.node.create_subscription(CarlaEgoVehicleControl, f"{ns}/vehicle_control_cmd",
                                      self._on_command, qos.BRIDGE)
        self.node.create_subscription(ExperienceBatch, stack.REPLAY_TOPIC,
                                      self._on_batch, qos.REPLAY)
        # a new track or a reset: the route is sent again, as the simulator does
        self.node.create_subscription(UInt64, f"/sim/{role}/next_track",
                                      lambda _m: self.path_pub.publish(self.path), qos.BRIDGE)
        self.node.create_subscription(Pose, f"{ns}/control/set_transform",
                                      lambda _m: self.path_pub.publish(self.path), qos.BRIDGE)
        rng = np.random.default_rng(0)
        self.image = array_to_image(rgb_to_bgra(rng.integers(0, 256, (84, 96, 3), np.uint8)),
                                    "bgra8")
        self.odom, self.status = Odometry(), CarlaEgoVehicleStatus()
        self.status.velocity = SPEED_M_PER_TICK / 0.08
        self.odom.twist.twist.linear.x = SPEED_M_PER_TICK / 0.08
        self.radius = ROUTE_POINTS / (2 * np.pi)
        path = Path()
        path.header.frame_id = "map"
        for t in np.linspace(0, 2 * np.pi, ROUTE_POINTS, endpoint=False):
            ps = PoseStamped()
            ps.header.frame_id = "map"
            ps.pose.position.x = self.radius * math.cos(t)
            ps.pose.position.y = self.radius * math.sin(t)
            path.poses.append(ps)
        self.path = path
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        self.tick_index = 0

    def _on_command(self, _msg) -> None:
        with self.cond:
            self.commands += 1
            self.cond.notify_all()

    def _on_batch(self, _msg) -> None:
        self.batches += 1

    def connected(self) -> bool:
        return (self.odom_pub.get_subscription_count() > 0
                and self.node.count_publishers(self.odom_pub.topic_name.replace(
                    "odometry", "vehicle_control_cmd")) > 0)

    def tick(self, timeout: float = 5.0) -> bool:
        """Publish the next frame; True once the agent answered it."""
        from builtin_interfaces.msg import Time
        self.tick_index += 1   # one /clock and one frame per tick, as the bridge sends
        ns = self.tick_index * 80_000_000
        stamp = Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)
        angle = SPEED_M_PER_TICK / self.radius * self.tick_index
        p = self.odom.pose.pose
        p.position.x, p.position.y = self.radius * math.cos(angle), self.radius * math.sin(angle)
        yaw = angle + math.pi / 2
        p.orientation.z, p.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        with self.cond:
            before = self.commands
            # the embedded simulator's order (ros/sim_publishers.py): odometry last
            for msg in (self.image, self.status, self.odom):
                msg.header.stamp = stamp
            self.image_pub.publish(self.image)
            self.status_pub.publish(self.status)
            self.clock.clock = stamp
            self.clock_pub.publish(self.clock)
            self.carla_status.frame = self.tick_index
            self.carla_status_pub.publish(self.carla_status)
            self.odom_pub.publish(self.odom)
            return self.cond.wait_for(lambda: self.commands > before, timeout)

    def close(self) -> None:
        import rclpy
        self.executor.shutdown()
        self.thread.join(10.0)   # a thread still spinning at exit aborts the interpreter
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def agent_command(source: str | None, profile: str | None, role: str) -> tuple[list, dict]:
    """The agent's command line and environment (another tree's node, under cProfile)."""
    from td3_driving.bringup.launcher import executable_path
    script = executable_path("agent")   # a Python script (console entry point)
    env = dict(os.environ, **stack.thread_environment())   # as the stack starts it
    if source:
        script = os.path.join(tempfile.mkdtemp(prefix="bench-agent-"), "agent.py")
        with open(script, "w") as f:
            f.write("import sys\nfrom td3_driving.nodes.agent import main\n"
                    "sys.exit(main())\n")
        env["PYTHONPATH"] = f"{os.path.abspath(source)}:{env.get('PYTHONPATH', '')}"
    cmd = [sys.executable, script, "--ros-args", "-p", f"role_name:={role}",
           "-p", "settle_ticks:=0", "-p", "use_sim_time:=true", "-p", "batch_steps:=32",
           "--log-level", "warn"]
    return (profiled(cmd, profile) if profile else cmd), env


def measure(args: argparse.Namespace, source: str | None) -> dict:
    cmd, env = agent_command(source, args.profile, args.role)
    bridge = Bridge(args.role)
    agent = subprocess.Popen(cmd, env=env)
    try:
        deadline = time.monotonic() + 60.0
        while not bridge.connected():
            if agent.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the agent did not start")
            time.sleep(0.1)
        bridge.path_pub.publish(bridge.path)
        for _ in range(args.warmup):
            if not bridge.tick():
                raise SystemExit("the agent stopped answering during the warm-up")
        if args.profile:
            agent.send_signal(signal.SIGUSR1)
        cpu0, t0 = cpu_seconds(agent.pid), time.monotonic()
        for _ in range(args.steps):
            if not bridge.tick():
                raise SystemExit("the agent stopped answering")
        cpu1, t1 = cpu_seconds(agent.pid), time.monotonic()
        if args.profile:
            agent.send_signal(signal.SIGUSR2)
    finally:
        agent.send_signal(signal.SIGINT)
        try:
            agent.wait(60)
        except subprocess.TimeoutExpired:
            agent.kill()
        bridge.close()
    return {"agent_cpu_ms_per_step": round(1000 * (cpu1 - cpu0) / args.steps, 2),
            "steps_per_s": round(args.steps / (t1 - t0), 1),
            "replay_batches_received": bridge.batches,
            "load_average_1min": round(os.getloadavg()[0], 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500, help="measured steps")
    p.add_argument("--warmup", type=int, default=200, help="steps before the measurement")
    p.add_argument("--profile", help="run the agent under cProfile; write the stats here")
    p.add_argument("--json", help="write the record to this path")
    p.add_argument("--role", default="bench_ego")
    p.add_argument("--source", action="append", help="directory holding the td3_driving "
                   "package to run (default: this build's); repeat to compare checkouts")
    p.add_argument("--rounds", type=int, default=1,
                   help="runs of each tree, the trees in turn; the record gives the median")
    args = p.parse_args()
    sources = args.source or [None]
    if args.profile and (len(sources) > 1 or args.rounds > 1):
        p.error("--profile measures one run of one tree")
    report = begin_ros_report("agent_step")
    report.update(steps=args.steps, warmup_steps=args.warmup, rounds=args.rounds,
                  profiled=bool(args.profile), thread_environment=stack.thread_environment())
    report["trees"] = compare_trees(sources, args.rounds, lambda s: measure(args, s),
                                    ("agent_cpu_ms_per_step", "steps_per_s"))
    for tree in report["trees"]:
        print(f"agent: CPU {tree['agent_cpu_ms_per_step']:.2f} ms/step (median of "
              f"{args.rounds}), {tree['source']['commit'][:10]} {tree['source']['subject']}",
              flush=True)
    if args.profile:
        print_profile(args.profile, f"the agent over the {args.steps} measured steps")
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
