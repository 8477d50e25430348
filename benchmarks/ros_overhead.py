#!/usr/bin/env python3
"""ROS overhead: env steps/s of the full ROS stack vs the in-process trainer, same UTD.

    ./env.sh python -m benchmarks.ros_overhead [--steps 600] [--learning_starts 500]
        [--warmup_steps 100] [--json PATH]

Both run the driving task on the embedded simulator with the learner settings of
config/train.yaml (update_to_data 0.25, batch 128, encoder_mode shared), except
``td3.learning_starts`` (small, so that training starts soon) and ``torch_threads`` (1 on
both sides, as config/td3.yaml's in-process trainer has it: train.yaml's fitted count would
make this a comparison of thread counts, not of ROS). After the warm-up and
``--warmup_steps`` steps of training, a window of ``--steps`` env steps is timed:

- ros: 1 simulator + 1 agent + the learner as processes (td3_driving.bringup.stack.training_stack,
  started like `make train`), params = a temporary copy of config/train.yaml with the
  override, run_dir under /tmp; steps counted from the learner's LearnerStatus
  ``steps_received`` (each window edge is the arrival of the status that showed a new
  batch), updates from its ``learner_step``. CPU use of each node process and of the
  whole machine over the window come from /proc.
- inprocess: td3_driving.apps.gym_trainer.train with --env driving (config/td3.yaml's section
  'driving', same learning_starts, UTD, batch size and encoder mode), timed by wrapping its
  Episode and TD3Agent: the window is measured between env steps, and the time spent in
  the simulator and in updates is summed.

overhead = 1 - ros_steps_per_s / inprocess_steps_per_s (goal: at most
benchmarks.goals.ROS_OVERHEAD_MAX). On 2 cores the ROS stack can also be faster than
in-process, since simulator, agent and learner run in parallel; a negative overhead says
so. On a machine shared with other work the three ROS processes also get more CPU shares
than the one in-process trainer, so the JSON adds the CPU cost: env steps per CPU-second
of each, and overhead_per_cpu_second (same formula).

Writes ``--json`` (default docs/benchmarks/results/ros_overhead.json):

    {"section": "ros_overhead", **header (command, date, machine, load averages),
     "settings": {"learning_starts", "warmup_steps", "window_steps", "update_to_data",
                  "batch_size", "encoder_mode", "torch_threads"},
     "inprocess": {"steps_per_s", "updates_per_s", "window_s", "steps", "updates",
                   "sim_s", "update_s", "other_s", "cpu_cores", "steps_per_cpu_s",
                   "load_average_1min_before", "load_average_1min_after"},
     "ros": {"steps_per_s", "updates_per_s", "window_s", "steps", "updates",
             "update_to_data_measured", "cpu_cores": {process label: cores used},
             "stack_cpu_cores", "steps_per_cpu_s", "machine_cpu_busy_fraction",
             "load_average_1min_before", "load_average_1min_after"},
     "overhead": 1 - ros/inprocess, "goal_overhead_max", "goal_met",
     "overhead_per_cpu_second": the same from steps_per_cpu_s}

A benchmark, not a test: it prints numbers and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import (
    RESULTS,
    begin_ros_report,
    cpu_ticks,
    machine_ticks,
    params_file,
    write_json,
)
from benchmarks.goals import ROS_OVERHEAD_MAX


def inprocess(learning_starts: int, warmup: int, steps: int) -> dict:
    """gym_trainer.train on the driving task, timed from inside its loop."""
    from td3_driving.apps import gym_trainer
    start = learning_starts + warmup
    total = start + steps
    cfg, trainer = gym_trainer.load_run_config(
        gym_trainer.DEFAULT_CONFIG, "driving",
        [f"learner.td3.learning_starts={learning_starts}", f"trainer.total_steps={total}",
         # one final evaluation (after the window) is unavoidable; none in between
         f"trainer.eval_every={10 * total}", "trainer.eval_episodes=1"])
    clock = {"episodes": 0, "step_end": [], "sim": 0.0, "update": 0.0, "updates": 0,
             "cpu": {}}

    class TimedEpisode(gym_trainer.Episode):
        """Times the training episode's env steps; train() builds it before the eval one."""

        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, **kw)
            self.timed = clock["episodes"] == 0
            clock["episodes"] += 1

        def step(self, action):
            t = time.perf_counter()
            out = super().step(action)
            if self.timed:
                clock["sim"] += time.perf_counter() - t
                clock["step_end"].append((time.perf_counter(), clock["sim"], clock["update"],
                                          clock["updates"]))
                if len(clock["step_end"]) in (start, total):   # CPU of the window only
                    clock["cpu"][len(clock["step_end"])] = cpu_ticks(os.getpid())
            return out

    class TimedAgent(gym_trainer.TD3Agent):
        def update(self, *a, **kw):
            t = time.perf_counter()
            out = super().update(*a, **kw)
            clock["update"] += time.perf_counter() - t
            clock["updates"] += 1
            return out

    saved = gym_trainer.Episode, gym_trainer.TD3Agent
    gym_trainer.Episode, gym_trainer.TD3Agent = TimedEpisode, TimedAgent
    run_dir = Path(tempfile.mkdtemp(prefix="td3-bench-inprocess-"))
    load_before = os.getloadavg()[0]
    try:
        gym_trainer.train(cfg, trainer, run_dir)
    finally:
        gym_trainer.Episode, gym_trainer.TD3Agent = saved
        shutil.rmtree(run_dir, ignore_errors=True)
    # step_end[i] is taken after env step i + 1: the window is steps start+1 .. total
    t0, sim0, upd0, n0 = clock["step_end"][start - 1]
    t1, sim1, upd1, n1 = clock["step_end"][total - 1]
    wall = t1 - t0
    cpu = (clock["cpu"][total] - clock["cpu"][start]) / os.sysconf("SC_CLK_TCK")
    return {"steps": steps, "window_s": round(wall, 2), "steps_per_s": round(steps / wall, 2),
            "updates": n1 - n0, "updates_per_s": round((n1 - n0) / wall, 3),
            "sim_s": round(sim1 - sim0, 2), "update_s": round(upd1 - upd0, 2),
            "other_s": round(wall - (sim1 - sim0) - (upd1 - upd0), 2),
            "cpu_cores": round(cpu / wall, 2),
            "steps_per_cpu_s": round(steps / cpu, 3) if cpu > 0 else None,
            "config": {"update_to_data": cfg.td3.update_to_data,
                       "batch_size": cfg.td3.batch_size,
                       "encoder_mode": cfg.network.encoder_mode,
                       "torch_threads": cfg.torch_threads,
                       "learning_starts": cfg.td3.learning_starts},
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2)}


class _Status:
    """The learner's LearnerStatus, with the arrival time of each change of steps_received."""

    def __init__(self) -> None:
        from td3_driving.bringup import stack
        from td3_driving.msg import LearnerStatus
        from td3_driving.ros import qos
        from td3_driving.ros.listener import Listener
        self.listener = Listener("bench_overhead_monitor")
        self.lock = self.listener.lock
        self.last = (0.0, 0, 0)   # (arrival of the newest change, steps, updates)
        self.listener.node.create_subscription(LearnerStatus, stack.LEARNER_STATUS_TOPIC,
                                               self._on_status, qos.STATS)

    def _on_status(self, msg) -> None:
        with self.lock:
            if int(msg.steps_received) != self.last[1]:
                self.last = (time.monotonic(), int(msg.steps_received), int(msg.learner_step))

    def wait_steps(self, target: int, failed, timeout: float) -> tuple[float, int, int]:
        """The first change with steps_received >= target."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                last = self.last
            if last[1] >= target:
                return last
            if failed() or time.monotonic() > deadline:
                raise SystemExit(f"the ROS stack stopped progressing at {last[1]} steps "
                                 f"(waiting for {target}); exited: {failed()}")
            time.sleep(0.02)

    def close(self) -> None:
        self.listener.close()


def ros(learning_starts: int, warmup: int, steps: int) -> dict:
    """The training stack (1 vehicle + learner) as `make train` starts it."""
    from td3_driving.bringup import stack
    from td3_driving.bringup.launcher import Stack
    tmp = Path(tempfile.mkdtemp(prefix="td3-bench-ros-"))
    args = stack.StackArgs(num_agents=1, run_dir=str(tmp / "run"), seed=0,
                           params_file=params_file(tmp, {"td3.learning_starts":
                                                         learning_starts,
                                                         "torch_threads": 1}))
    status = _Status()
    nodes = Stack(stack.training_stack(args), log_level="warn", quiet=True)
    load_before = os.getloadavg()[0]
    nodes.start()

    def failed():
        return [p.label for p in nodes.failed()]
    try:
        t0, s0, u0 = status.wait_steps(learning_starts + warmup, failed, 900.0)
        cpu0 = {p.label: cpu_ticks(p.popen.pid) for p in nodes.processes}
        m0 = machine_ticks()
        t1, s1, u1 = status.wait_steps(s0 + steps, failed, 900.0)
        cpu1 = {p.label: cpu_ticks(p.popen.pid) for p in nodes.processes}
        m1 = machine_ticks()
    finally:
        nodes.stop(learner_timeout=60.0)
        status.close()
        shutil.rmtree(tmp, ignore_errors=True)
    wall = t1 - t0
    cores = {label: round((cpu1[label] - cpu0[label]) / os.sysconf("SC_CLK_TCK") / wall, 2)
             for label in cpu0}
    return {"steps": s1 - s0, "window_s": round(wall, 2),
            "steps_per_s": round((s1 - s0) / wall, 2), "updates": u1 - u0,
            "updates_per_s": round((u1 - u0) / wall, 3),
            "update_to_data_measured": round((u1 - u0) / max(1, s1 - s0), 3),
            "cpu_cores": cores, "stack_cpu_cores": round(sum(cores.values()), 2),
            "steps_per_cpu_s": round((s1 - s0) / (sum(cores.values()) * wall), 3)
            if sum(cores.values()) > 0 else None,
            "machine_cpu_busy_fraction": round((m1[0] - m0[0]) / max(1, m1[1] - m0[1]), 3),
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=600, help="env steps in the timed window")
    p.add_argument("--learning_starts", type=int, default=500)
    p.add_argument("--warmup_steps", type=int, default=100,
                   help="training steps after learning_starts before the window")
    p.add_argument("--order", choices=("inprocess-first", "ros-first"),
                   default="inprocess-first")
    p.add_argument("--json", default=str(RESULTS / "ros_overhead.json"),
                   help="JSON report path ('' = none)")
    args = p.parse_args()
    report = begin_ros_report("ros_overhead")
    parts = [("inprocess", inprocess), ("ros", ros)]
    if args.order == "ros-first":
        parts.reverse()
    for name, run in parts:
        r = report[name] = run(args.learning_starts, args.warmup_steps, args.steps)
        print(f"{name}: {r['steps_per_s']:.2f} env steps/s, {r['updates_per_s']:.2f} "
              f"updates/s over {r['steps']} steps ({r['window_s']:.0f} s)", flush=True)
    cfg = report["inprocess"].pop("config")
    report["settings"] = {**cfg, "warmup_steps": args.warmup_steps,
                          "window_steps": args.steps}
    overhead = 1.0 - report["ros"]["steps_per_s"] / report["inprocess"]["steps_per_s"]
    i, r = report["inprocess"], report["ros"]
    per_cpu = (1.0 - r["steps_per_cpu_s"] / i["steps_per_cpu_s"]
               if r["steps_per_cpu_s"] and i["steps_per_cpu_s"] else None)
    report.update(overhead=round(overhead, 3), goal_overhead_max=ROS_OVERHEAD_MAX,
                  goal_met=overhead <= ROS_OVERHEAD_MAX,
                  overhead_per_cpu_second=None if per_cpu is None else round(per_cpu, 3))
    print(f"in-process window: simulator {i['sim_s']:.1f} s, updates {i['update_s']:.1f} s, "
          f"rest {i['other_s']:.1f} s of {i['window_s']:.1f} s")
    print(f"ROS window: CPU cores {r['cpu_cores']}, machine "
          f"{100 * r['machine_cpu_busy_fraction']:.0f} % busy")
    print(f"overhead = 1 - ros/inprocess = {overhead:.1%} (goal <= {ROS_OVERHEAD_MAX:.0%}: "
          f"{'met' if overhead <= ROS_OVERHEAD_MAX else 'missed'})")
    if per_cpu is not None:
        print(f"per CPU-second: in-process {i['steps_per_cpu_s']:.2f} steps, ROS "
              f"{r['steps_per_cpu_s']:.2f} steps: overhead {per_cpu:.1%} (on a shared machine "
              "the 3 ROS processes get more CPU shares than 1 in-process one)")
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
