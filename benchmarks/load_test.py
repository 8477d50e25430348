"""Load test: N simulators + N agents + the learner for a while; memory, progress, queues.

    ROS_DOMAIN_ID=77 ./env.sh python -m benchmarks.load_test --duration 600 --out load.json

Starts the training stack exactly as `make train` does (td3_driving.bringup.stack + launcher), with
4 vehicles by default, and every ``--sample_s`` seconds records:

- the RSS of every node process (its whole process tree, from /proc);
- the learner's LearnerStatus (steps received, updates, buffer size, steps dropped,
  steps allowed) and the control commands each agent published (its liveness).

At the end it prints a summary, writes everything as JSON, and checks (exit code 1 if any
fails):

- no node exited;
- no deadlock: the learner received new steps, every agent published new commands and
  (once warmed up) the learner made new updates in every window of ``--window_s``;
- bounded queues: data never ran ahead of the learner's backpressure allowance by more
  than one batch per agent, and each process's RSS after the warm-up (``--warmup_s`` and
  until weights version 2 is out: agents build their first actor then) grew by at most
  ``--rss_slack_mb``, the learner's after subtracting the replay buffer's own growth
  (steps stored x bytes per stored step).

``--overlay FILE`` adds a params YAML after the shipped ones (e.g. test/e2e/tiny_stack.yaml
for a CI-sized stack). Set a non-zero ROS_DOMAIN_ID of your own: this script's nodes must
not meet another running stack.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import command_line, rss_kb

# bookkeeping arrays of core.replay.ReplayBuffer per slot, besides frame/vector/action:
# rewards 4, terminated 1, truncated 1, policy_version 4, prev 4, depth 1, insert_no 8,
# need_no 8, t_end 4, t_reward 4, t_len 1
_SLOT_OVERHEAD = 40


def _groups(args, run_dir: str):
    from td3_driving.bringup import stack
    sargs = stack.StackArgs(num_agents=args.num_agents, run_dir=run_dir, seed=args.seed)
    groups = stack.training_stack(sargs)
    if not args.overlay:
        return groups
    overlay = str(Path(args.overlay).resolve())
    return [dataclasses.replace(g, nodes=tuple(
        dataclasses.replace(n, params_files=n.params_files + (overlay,)) for n in g.nodes))
        for g in groups]


def _bytes_per_step(results: dict) -> int:
    learner = results.get("config", {}).get("learner", {})
    obs = learner.get("observation", {})
    frame = obs.get("channels", 1) * obs.get("height", 84) * obs.get("width", 84) \
        if obs.get("image", True) else 0
    return frame + 4 * obs.get("vector_size", 8) + 4 * learner.get("action_size", 2) \
        + _SLOT_OVERHEAD


def warm_samples(samples: list[dict], args) -> list[dict]:
    """The samples after the warm-up: warmup_s passed and weights version 2 is out.

    By then every agent has built and run its first actor (a one-off step of its RSS).
    """
    t0 = samples[0]["t"]
    warm = [s for s in samples if s["t"] - t0 >= args.warmup_s]
    return warm[next((i for i, s in enumerate(warm)
                      if s["learner"].get("weights_version", 0) >= 2), len(warm)):]


def check(samples: list[dict], args, results: dict, exited: list[str]) -> list[str]:
    """The failed checks (empty: passed)."""
    failures = [f"node exited: {label}" for label in exited]
    t0 = samples[0]["t"]
    warm = warm_samples(samples, args)
    if len(warm) < 2:
        return failures + ["too few samples after the warm-up (no weights version 2?)"]
    # progress in every window after the warm-up
    start = warm[0]
    for s in warm[1:]:
        if s["t"] - start["t"] < args.window_s and s is not warm[-1]:
            continue
        a, b = start, s
        got = b["learner"].get("steps_received", 0) - a["learner"].get("steps_received", 0)
        if got <= 0:
            failures.append(f"no steps received between t={a['t'] - t0:.0f}s and "
                            f"t={b['t'] - t0:.0f}s (deadlock?)")
        for role, n in b["commands"].items():
            if n <= a["commands"].get(role, 0):
                failures.append(f"agent {role} published no command between "
                                f"t={a['t'] - t0:.0f}s and t={b['t'] - t0:.0f}s")
        trained = a["learner"].get("learner_step", 0) > 0
        if trained and b["learner"].get("learner_step", 0) <= a["learner"]["learner_step"]:
            failures.append(f"no learner updates between t={a['t'] - t0:.0f}s and "
                            f"t={b['t'] - t0:.0f}s")
        start = s
    overrun_limit = args.num_agents * args.batch_steps
    if samples[-1]["max_overrun"] > overrun_limit:
        failures.append(f"data ran {samples[-1]['max_overrun']} steps ahead of the allowance "
                        f"(limit {overrun_limit}): backpressure not holding")
    failures += memory_failures(samples, warm, results, args.rss_slack_mb)
    return failures


def memory_trend(samples: list[dict], warm: list[dict], results: dict) -> dict[str, dict]:
    """Per process: median RSS (MB) over the first and the last third after the warm-up.

    The learner's figures exclude the replay buffer's own bytes. Training starts with
    one-off allocations (optimiser state, autograd buffers) and every update, weights
    export and checkpoint swings the allocator by tens of MB, so a single sample says
    little; the medians of whole thirds show growth.
    """
    per_step = _bytes_per_step(results)
    trained = [s for s in warm if s["learner"].get("learner_step", 0) > 0]
    if trained:   # the first minute of training allocates once; growth is measured after it
        warm = [s for s in warm if s["t"] - trained[0]["t"] >= 60.0] or warm[-2:]
    third = max(1, len(warm) // 3)
    trend = {}
    def mb(s: dict, label: str) -> float:
        value = s["rss_kb"].get(label, 0) / 1024
        if label == "learner":
            value -= s["learner"].get("buffer_size", 0) * per_step / 2**20
        return value

    for label in samples[-1]["rss_kb"]:
        head = float(np.median([mb(s, label) for s in warm[:third]]))
        tail = float(np.median([mb(s, label) for s in warm[-third:]]))
        trend[label] = {"first_third_mb": round(head, 1), "last_third_mb": round(tail, 1),
                        "growth_mb": round(tail - head, 1),
                        "from_t_s": round(warm[0]["t"] - samples[0]["t"], 1)}
    return trend


def memory_failures(samples, warm, results, slack_mb: float) -> list[str]:
    return [f"{label}: RSS grew {t['growth_mb']:.1f} MB (median of the last third vs the "
            f"first third after the warm-up, limit {slack_mb} MB"
            + (", replay buffer bytes excluded)" if label == "learner" else ")")
            for label, t in memory_trend(samples, warm, results).items()
            if t["growth_mb"] > slack_mb]


def summary(samples: list[dict], results: dict, t_start: float) -> dict:
    first, last = samples[0], samples[-1]
    per_step = _bytes_per_step(results)
    rss = {label: {"start_mb": round(first["rss_kb"].get(label, 0) / 1024, 1),
                   "max_mb": round(max(s["rss_kb"].get(label, 0) for s in samples) / 1024, 1),
                   "end_mb": round(kb / 1024, 1)}
           for label, kb in last["rss_kb"].items()}
    return {"duration_s": round(last["t"] - t_start, 1), "rss": rss,
            "learner": last["learner"], "commands": last["commands"],
            "max_overrun_steps": last["max_overrun"],
            "replay_bytes_per_step": per_step,
            "replay_growth_mb": round(last["learner"].get("buffer_size", 0) * per_step / 2**20,
                                      1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num_agents", type=int, default=4)
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    p.add_argument("--sample_s", type=float, default=10.0, help="RSS/status sample period")
    p.add_argument("--window_s", type=float, default=60.0,
                   help="every window after the warm-up must show progress")
    p.add_argument("--warmup_s", type=float, default=60.0,
                   help="start-up time excluded from the RSS and progress checks (it also "
                        "lasts until weights version 2 is out)")
    p.add_argument("--rss_slack_mb", type=float, default=50.0,
                   help="allowed RSS growth per process after the warm-up")
    p.add_argument("--batch_steps", type=int, default=32,
                   help="the agents' batch_steps (bounds how far data may overrun)")
    p.add_argument("--overlay", default="", help="extra params YAML, loaded last")
    p.add_argument("--run_dir", default="", help="default: a temporary directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="load_test.json", help="JSON report path")
    args = p.parse_args(argv)
    if os.environ.get("ROS_DOMAIN_ID", "0") in ("", "0"):
        print("load_test: set a non-zero ROS_DOMAIN_ID of your own (e.g. ROS_DOMAIN_ID=77) "
              "so that this stack does not meet another one", file=sys.stderr)
        return 2

    from td3_driving.bringup import stack
    from td3_driving.bringup.launcher import Stack

    run_dir = args.run_dir or tempfile.mkdtemp(prefix="td3_load_")
    roles = stack.role_names(args.num_agents)
    from benchmarks.monitor import StackMonitor
    monitor = StackMonitor(roles, "load_test_monitor")
    nodes = Stack(_groups(args, run_dir), quiet=True)
    t_start = time.monotonic()
    nodes.start()
    samples: list[dict] = []
    exited: list[str] = []
    print(f"load_test: {args.num_agents} agents + learner for {args.duration:.0f} s, run_dir "
          f"{run_dir}, ROS_DOMAIN_ID {os.environ['ROS_DOMAIN_ID']}", flush=True)
    try:
        while time.monotonic() - t_start < args.duration:
            time.sleep(min(args.sample_s, max(0.0, args.duration
                                              - (time.monotonic() - t_start))))
            sample = {**monitor.snapshot(),
                      "rss_kb": {p.label: rss_kb(p.popen.pid) for p in nodes.processes}}
            samples.append(sample)
            lr = sample["learner"]
            print(f"t={sample['t'] - t_start:6.0f}s steps {lr.get('steps_received', 0):7d} "
                  f"updates {lr.get('learner_step', 0):6d} buffer {lr.get('buffer_size', 0):7d}"
                  f" dropped {lr.get('steps_dropped', 0):5d} | RSS MB "
                  + " ".join(f"{k}={v / 1024:.0f}" for k, v in sample["rss_kb"].items()),
                  flush=True)
            exited = [f"{p.label} (code {p.popen.returncode})" for p in nodes.failed()]
            if exited:
                break
    except KeyboardInterrupt:
        print("load_test: interrupted", flush=True)
    finally:
        codes = nodes.stop()
        monitor.close()
    results_path = Path(run_dir) / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    if not samples:
        print("load_test: no samples taken", file=sys.stderr)
        return 1
    failures = check(samples, args, results, exited)
    report = {"command": command_line(), "args": vars(args), "run_dir": run_dir,
              "exit_codes": codes, "summary": summary(samples, results, t_start),
              "memory_trend": memory_trend(samples, warm_samples(samples, args), results),
              "failures": failures, "samples": [{**s, "t": round(s["t"] - t_start, 1)}
                                                for s in samples],
              "learner_results": {k: v for k, v in results.items() if k != "config"}}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    print("load_test: " + ("PASSED" if not failures else "FAILED:\n  " + "\n  ".join(failures))
          + f" (report {args.out})", flush=True)
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
