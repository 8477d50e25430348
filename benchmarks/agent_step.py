"""Agent CPU per step: one agent process driven in lockstep by a scripted bridge.

    ./env.sh python -m benchmarks.agent_step [--steps 1500] [--warmup 200] [--profile FILE]
        [--json PATH]

Starts the installed ``agent`` executable (train mode, on sim time as in the stack, no
learner, no weights: warm-up random actions, no inference; debug topics left at their
defaults, nobody subscribed) and plays carla-ros-bridge for it from this process: each tick
publishes a 96x84 bgra8 image,
odometry and vehicle status with one sim-time stamp (the embedded simulator's sizes) and
waits for the agent's command before the next. A replay subscriber is connected, so the
agent builds and publishes its experience batches as in training. The agent's CPU time
(user + system, from /proc) over ``--steps`` steps after ``--warmup`` steps, divided by the
steps, is the figure. The route is a 50 m circle the scripted vehicle drives around;
episodes end at the reward's step limit, and the scripted bridge answers a track request
or a set_transform by sending the route again, as the embedded simulator does.

``--source DIR`` runs the agent node from another source tree (e.g. an older commit's
``td3_driving`` with this build's generated messages copied in) for a before/after table.
``--profile FILE`` runs the agent under cProfile and writes its stats to FILE (and prints
the top entries by own time); the CPU figure of such a run includes the profiler's cost.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

_PROFILE_RUNNER = """
import cProfile, runpy, sys, time
profile = cProfile.Profile(time.process_time)
sys.argv[0] = {script!r}
try:
    profile.runcall(runpy.run_path, {script!r}, run_name="__main__")
except SystemExit:
    pass
finally:
    profile.dump_stats({out!r})
"""


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (utime + stime in /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bridge:
    """Publishes one vehicle's per-tick topics and counts the agent's commands."""

    def __init__(self, role: str) -> None:
        import rclpy
        from carla_msgs.msg import CarlaEgoVehicleControl, CarlaEgoVehicleStatus
        from geometry_msgs.msg import Pose, PoseStamped
        from nav_msgs.msg import Odometry, Path
        from rclpy.executors import SingleThreadedExecutor
        from rosgraph_msgs.msg import Clock as ClockMsg
        from sensor_msgs.msg import Image
        from std_msgs.msg import UInt64

        from td3_driving.bringup import stack
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
        self.clock = ClockMsg()
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
        self.status.velocity = 10.0
        self.odom.twist.twist.linear.x = 10.0
        path = Path()
        path.header.frame_id = "map"
        for t in np.linspace(0, 2 * np.pi, 314, endpoint=False):
            ps = PoseStamped()
            ps.pose.position.x, ps.pose.position.y = 50 * math.cos(t), 50 * math.sin(t)
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
        angle = 0.016 * self.tick_index
        p = self.odom.pose.pose
        p.position.x, p.position.y = 50 * math.cos(angle), 50 * math.sin(angle)
        yaw = angle + math.pi / 2
        p.orientation.z, p.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        with self.cond:
            before = self.commands
            self.clock.clock = stamp
            self.clock_pub.publish(self.clock)
            for msg, pub in ((self.image, self.image_pub), (self.status, self.status_pub),
                             (self.odom, self.odom_pub)):
                msg.header.stamp = stamp
                pub.publish(msg)
            return self.cond.wait_for(lambda: self.commands > before, timeout)

    def close(self) -> None:
        import rclpy
        self.executor.shutdown()
        self.thread.join(10.0)   # a thread still spinning at exit aborts the interpreter
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500, help="measured steps")
    p.add_argument("--warmup", type=int, default=200, help="steps before the measurement")
    p.add_argument("--profile", help="run the agent under cProfile; write the stats here")
    p.add_argument("--json", help="write the result as JSON to this path")
    p.add_argument("--role", default="bench_ego")
    p.add_argument("--source", help="directory holding the td3_driving package to run")
    args = p.parse_args()
    from td3_driving.bringup.launcher import executable_path
    script = executable_path("agent")   # a Python script (console entry point)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if args.source:
        script = os.path.join(tempfile.mkdtemp(prefix="bench-agent-"), "agent.py")
        with open(script, "w") as f:
            f.write("import sys\nfrom td3_driving.nodes.agent import main\n"
                    "sys.exit(main())\n")
        env["PYTHONPATH"] = f"{os.path.abspath(args.source)}:{env.get('PYTHONPATH', '')}"
    if args.profile:   # CPU time, not wall time: a busy machine must not inflate it
        runner = os.path.join(tempfile.mkdtemp(prefix="bench-agent-"), "run_profiled.py")
        with open(runner, "w") as f:
            f.write(_PROFILE_RUNNER.format(script=script, out=os.path.abspath(args.profile)))
        script = runner
    cmd = [sys.executable, script, "--ros-args", "-p", f"role_name:={args.role}",
           "-p", "settle_ticks:=0", "-p", "use_sim_time:=true", "-p", "batch_steps:=32",
           "--log-level", "warn"]
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
        cpu0, t0 = _cpu_s(agent.pid), time.monotonic()
        for _ in range(args.steps):
            if not bridge.tick():
                raise SystemExit("the agent stopped answering")
        cpu1, t1 = _cpu_s(agent.pid), time.monotonic()
    finally:
        agent.send_signal(signal.SIGINT)
        try:
            agent.wait(60)
        except subprocess.TimeoutExpired:
            agent.kill()
        bridge.close()
    result = {"steps": args.steps, "agent_cpu_ms_per_step": round(1000 * (cpu1 - cpu0)
                                                                  / args.steps, 2),
              "steps_per_s": round(args.steps / (t1 - t0), 1),
              "replay_batches_received": bridge.batches, "profiled": bool(args.profile),
              "load_average_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(result))
    if args.profile:
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
