"""Benchmark record of a run of td3_driving.apps.parallel_trainer (the GPU long run).

    ./env.sh python -m benchmarks.learning_gpu --run_dir RUN [--episodes 100]

RUN is the run directory the trainer wrote (benchmarks/gpu_long_run.sh puts it in
$OUT/run on the GPU host). Scores its policy.safetensors with the benchmark protocol
in-process (100 tracks from 1,000,000, episodes ending where the simulator's do, no
noise) and writes docs/benchmarks/results/learning-gpu-<preset>-s<seed>-<frames>k.json:
the trainer's evaluations during training ([frames, score, training wall seconds]), its
training episodes, the machine it trained on, and both commands (the training command as
the trainer recorded it, and this one, which wrote the record).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from benchmarks.common import RESULTS
from td3_driving.apps.facts import machine_facts
from td3_driving.core.policy import Policy
from td3_driving.sim.driving_env import HEADLINE_EPISODES, evaluate_in_process


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run_dir", type=Path, required=True)
    p.add_argument("--episodes", type=int, default=HEADLINE_EPISODES)
    p.add_argument("--gpu", default=None, help="the GPU the run trained on, as reported")
    p.add_argument("--results", type=Path, default=RESULTS)
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    run = json.loads((ns.run_dir / "results.json").read_text())
    policy = Policy.load(ns.run_dir / "policy.safetensors")
    final = evaluate_in_process(policy.act, ns.episodes, obs_config=policy.observation,
                                action_config=policy.action)
    preset = run["learner"]["observation"]["preset"] or "route"
    seed = run["learner"]["seed"]
    machine = {**machine_facts(), "gpu": ns.gpu or run.get("device"),
               "trained_on": run.get("device"), "num_envs": run.get("num_envs")}
    record = {"section": "learning", "row": f"gpu-{preset}", "seed": seed, "preset": preset,
              "frames": run["frames"], "env_steps": run["env_steps"],
              "train_wall_s": run["train_wall_s"], "updates": run["updates"],
              "status": run["status"], "sittings": run["sittings"],
              "device": run.get("device"), "machine": machine,
              "curve": run["episodes"], "evals": run["evals"], "final": final,
              "training_command": run.get("command", ""),
              "command": "./env.sh python -m benchmarks.learning_gpu "
                         + " ".join(sys.argv[1:])}
    ns.results.mkdir(parents=True, exist_ok=True)
    path = ns.results / f"learning-gpu-{preset}-s{seed}-{round(run['frames'], -4) // 1000}k.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"{path.name}: {run['frames']:,} frames in {run['train_wall_s'] / 60:.1f} min; "
          f"native score {final['mean']:.1f} ± {final['std']:.1f} over {ns.episodes} tracks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
