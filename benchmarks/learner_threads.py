#!/usr/bin/env python3
"""The learner's torch threads against what the rest of the machine uses.

A training run's learner shares the machine with its simulators and agents (about 0.3
of a core for one vehicle on our machines, docs/benchmarks.md section 1) and with whatever
else runs. This measures the default config's TD3 update (config/train.yaml's learner on
the package's default observation, replay sampling included) with 1 up to all cores' torch
threads, while stand-in processes keep a given share of the machine busy (each a loop busy
for that fraction of every 20 ms). It is what the default of one learner thread rests on
(README, "Where the CPU goes"). A benchmark, not a test: each figure is the best of
``--rounds`` interleaved measurements.

    ./env.sh python -m benchmarks.learner_threads [--others 0 0.4 1 2] [--json PATH]

Writes ``--json`` (default docs/benchmarks/results/learner_threads.json):

    {"section": "learner_threads", **header (see report_header), "batch_size",
     "encoder_mode", "updates_timed_per_round", "rounds",
     "rows": [{"other_cores", "threads", "updates_per_s"}, ...]}
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

from benchmarks.common import RESULTS, report_header, write_json
from benchmarks.learner_throughput import STEPS, fill_ours, updates_per_s
from td3_driving.bringup.stack import config_file
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import from_mapping, merge_into, to_dict, unflatten
from td3_driving.core.td3 import TD3Agent
from td3_driving.learner.threads import usable_cores
from td3_driving.task.driving import DRIVING_LEARNER

PERIOD_S = 0.02   # a stand-in's duty cycle


def default_learner(threads: int) -> LearnerConfig:
    """config/train.yaml's learner on the driving defaults, with ``threads`` torch threads."""
    params = yaml.safe_load(Path(config_file("train.yaml")).read_text())
    merged = to_dict(DRIVING_LEARNER)
    merge_into(merged, unflatten(params["/learner"]["ros__parameters"]))
    merged["replay"]["capacity"] = STEPS
    merged.update(torch_threads=threads, device="cpu")
    return from_mapping(LearnerConfig, merged)


def stand_ins(cores: float) -> list[subprocess.Popen]:
    """Processes that keep ``cores`` of the machine busy: whole ones, then a fraction."""
    shares = [1.0] * int(cores) + ([cores - int(cores)] if cores - int(cores) > 1e-6 else [])
    code = ("import time\nbusy, idle = {}, {}\nwhile True:\n    t = time.perf_counter()\n"
            "    while time.perf_counter() - t < busy:\n        pass\n"
            "    if idle:\n        time.sleep(idle)\n")
    return [subprocess.Popen([sys.executable, "-c", code.format(PERIOD_S * s,
                                                               PERIOD_S * (1 - s))])
            for s in shares]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=float, nargs="+", default=[0.0, 0.4, 1.0, 2.0],
                        help="cores the stand-in processes keep busy, one setting each")
    parser.add_argument("--updates", type=int, default=20, help="timed updates per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repeats (best)")
    parser.add_argument("--json", default=str(RESULTS / "learner_threads.json"),
                        help="JSON report path ('' = none)")
    args = parser.parse_args()
    report = report_header("learner_threads")
    cores = usable_cores()
    rng = np.random.default_rng(0)
    cfg = default_learner(1)
    agent, buffer = TD3Agent(cfg), fill_ours(cfg, rng)
    batch = cfg.td3.batch_size

    def step(n: int) -> None:
        for _ in range(n):
            agent.update(buffer.sample(batch, rng))

    best: dict[tuple[float, int], float] = {}
    for r in range(args.rounds):
        for others in (args.others if r % 2 == 0 else list(reversed(args.others))):
            procs = stand_ins(others)
            try:
                for threads in range(1, cores + 1):
                    torch.set_num_threads(threads)
                    rate = updates_per_s(step, args.updates)
                    best[others, threads] = max(best.get((others, threads), 0.0), rate)
            finally:
                for p in procs:
                    p.kill()
                    p.wait()
    torch.set_num_threads(1)
    rows = [{"other_cores": o, "threads": t, "updates_per_s": round(v, 3)}
            for (o, t), v in sorted(best.items())]
    print(f"learner updates/s (batch {batch}, encoder {cfg.network.encoder_mode}), best of "
          f"{args.rounds} rounds of {args.updates} updates; {cores} cores")
    for o in sorted(args.others):
        print(f"  other processes busy {o:g} cores: " + ", ".join(
            f"{t} thread(s) {best[o, t]:.2f}" for t in range(1, cores + 1)))
    report.update(batch_size=batch, encoder_mode=cfg.network.encoder_mode,
                  updates_timed_per_round=args.updates, rounds=args.rounds, rows=rows)
    if args.json:
        write_json(report, args.json)


if __name__ == "__main__":
    main()
