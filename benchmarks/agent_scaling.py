"""Agent scaling: env steps/s of the training stack with 1, 2, 4 agents, and its CPU use.

    ./env.sh python -m benchmarks.agent_scaling [--agents 1 2 4] [--agents_window_s 60]

The training stack (td3_driving.bringup.stack.training_stack, as `make train`) with
num_agents N and td3.learning_starts larger than any step count, so that the learner never
trains and never throttles the agents (they act with random warm-up actions, no policy
inference); env steps/s from the learner's LearnerStatus.steps_received over a window
after every agent is running; CPU use of each node process and of the whole machine over
the same window (/proc), to show whether the cores are saturated. Part ``agents`` of
benchmarks.transport's record.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import cpu_ticks, machine_ticks, params_file, private_ros_domain
from benchmarks.goals import AGENT_SCALING_4_VS_1


def measure_stack(n: int, learning_starts: int, window: float, warmup: float) -> dict:
    from benchmarks.monitor import StackMonitor
    from td3_driving.bringup import stack
    from td3_driving.bringup.launcher import Stack
    tmp = Path(tempfile.mkdtemp(prefix="td3-bench-agents-"))
    args = stack.StackArgs(num_agents=n, run_dir=str(tmp / "run"), seed=0,
                           params_file=params_file(tmp, {"td3.learning_starts":
                                                         learning_starts}))
    roles = stack.role_names(n)
    monitor = StackMonitor(roles, "bench_transport_monitor")
    nodes = Stack(stack.training_stack(args), log_level="warn", quiet=True)
    load_before = os.getloadavg()[0]
    nodes.start()
    try:
        deadline = time.monotonic() + 180.0
        while True:   # every vehicle acting and the learner receiving
            now = monitor.snapshot()
            steps = now["learner"].get("steps_received", 0)
            if steps > 0 and min(now["commands"].values()) > 0:
                break
            if nodes.failed() or time.monotonic() > deadline:
                raise SystemExit(f"stack with {n} agents did not start: "
                                 f"{[p.label for p in nodes.failed()]}")
            time.sleep(0.5)
        time.sleep(warmup)
        a = monitor.snapshot()
        cpu0 = {p.label: cpu_ticks(p.popen.pid) for p in nodes.processes}
        m0 = machine_ticks()
        time.sleep(window)
        b = monitor.snapshot()
        cpu1 = {p.label: cpu_ticks(p.popen.pid) for p in nodes.processes}
        m1 = machine_ticks()
        failed = [p.label for p in nodes.failed()]
    finally:
        nodes.stop(learner_timeout=60.0)
        monitor.close()
        shutil.rmtree(tmp, ignore_errors=True)
    wall, hz = b["t"] - a["t"], os.sysconf("SC_CLK_TCK")
    s0, s1 = a["learner"]["steps_received"], b["learner"]["steps_received"]
    c0, c1 = a["commands"], b["commands"]
    cores = {label: round((cpu1[label] - cpu0[label]) / hz / wall, 2) for label in cpu0}
    cpu_per_step = sum(cores.values()) * wall / max(1, s1 - s0)   # CPU seconds per env step
    return {"num_agents": n, "window_s": round(wall, 1), "steps": s1 - s0,
            "steps_per_s": round((s1 - s0) / wall, 2),
            "stack_cpu_ms_per_step": round(1000 * cpu_per_step, 2),
            # what the stack could do with every core of the machine at this CPU cost
            "steps_per_s_bound_all_cores": round((os.cpu_count() or 1) / cpu_per_step, 1),
            "per_agent_commands_per_s": {r: round((c1[r] - c0[r]) / wall, 2) for r in roles},
            "cpu_cores": cores, "stack_cpu_cores": round(sum(cores.values()), 2),
            "machine_cpu_busy_fraction": round((m1[0] - m0[0]) / max(1, m1[1] - m0[1]), 3),
            "nodes_exited": failed, "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2)}


def measure(agents: list[int], learning_starts: int, window: float, warmup: float) -> dict:
    """One stack per entry of ``agents``, and the ratios of their env steps/s to 1 agent's."""
    runs = []
    for n in agents:
        r = measure_stack(n, learning_starts, window, warmup)
        r["ratio_vs_1_agent"] = None
        runs.append(r)
        busy = 100 * r["machine_cpu_busy_fraction"]
        print(f"{n} agent(s): {r['steps_per_s']:.1f} env steps/s; stack uses "
              f"{r['stack_cpu_cores']:.2f} cores, machine {busy:.0f} % busy; per "
              f"process {r['cpu_cores']}", flush=True)
    one = next((r["steps_per_s"] for r in runs if r["num_agents"] == 1), None)
    for r in runs:
        r["ratio_vs_1_agent"] = round(r["steps_per_s"] / one, 2) if one else None
    four = next((r["ratio_vs_1_agent"] for r in runs if r["num_agents"] == 4), None)
    bound = next((round(r["steps_per_s_bound_all_cores"] / one, 2) for r in runs
                  if r["num_agents"] == 4 and one), None)
    return {"learning_starts": learning_starts, "window_s": window, "runs": runs,
            "goal_ratio_4_vs_1": AGENT_SCALING_4_VS_1, "ratio_4_vs_1": four,
            "goal_met": None if four is None else four >= AGENT_SCALING_4_VS_1,
            "ratio_4_vs_1_bound_all_cores": bound,
            "note": "the learner never trains (learning_starts): agents act "
                    "with random warm-up actions, no policy inference"}


def summary(a: dict) -> str:
    line = "ratio to 1 agent: " + ", ".join(f"{r['num_agents']}: {r['ratio_vs_1_agent']}"
                                            for r in a["runs"])
    if a["ratio_4_vs_1_bound_all_cores"] is not None:
        line += (f"\nCPU bound: at 4 agents' CPU per step, all {os.cpu_count()} cores would "
                 f"give at most {a['ratio_4_vs_1_bound_all_cores']}x the 1-agent rate")
    return line


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agents", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--agents_window_s", type=float, default=60.0)
    p.add_argument("--agents_warmup_s", type=float, default=15.0,
                   help="seconds after every vehicle acts before the window starts")
    p.add_argument("--learning_starts", type=int, default=10**9,
                   help="learner warm-up in steps: larger than any count, so it never trains")


def run(args: argparse.Namespace) -> dict:
    return measure(args.agents, args.learning_starts, args.agents_window_s,
                   args.agents_warmup_s)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    args = p.parse_args()
    private_ros_domain()
    print(summary(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
