"""Which actor to deploy: the online actor of a checkpoint against its Polyak average.

    ./env.sh python -m benchmarks.deployed_actor CHECKPOINT [CHECKPOINT ...]
        [--episodes 10] [--out docs/benchmarks/results/deployed_actor.json]

TD3 keeps a target copy of the actor, the Polyak average of the online actor at rate tau
(0.005: about the last 200 actor updates). The learner deploys one of the two as the policy
(TD3Config.deploy_target_actor). This scores both actors of each checkpoint with the
benchmark protocol without ROS (td3_driving.sim.driving_env.evaluate_in_process: tracks
from 1,000,000, no noise, native score; 10 tracks by default, the quick check), prints a
row per checkpoint and writes the record that docs/benchmarks.md lists.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import torch

from benchmarks.common import RESULTS, report_header, write_json
from td3_driving.core.checkpoint import load_checkpoint, read_checkpoint_config
from td3_driving.core.td3 import TD3Agent
from td3_driving.sim.config import PHYSICS_DT
from td3_driving.sim.driving_env import QUICK_EPISODES, evaluate_in_process
from td3_driving.task.config import RewardConfig


def score_actors(path: Path, episodes: int) -> dict:
    """Native scores of the online and the target actor of one checkpoint."""
    cfg = read_checkpoint_config(path)
    cfg = replace(cfg, td3=replace(cfg.td3, deploy_target_actor=True))
    agent = TD3Agent(cfg)
    extra = load_checkpoint(path, agent)
    steps = int(extra.get("steps_received", 0))
    frames_per_step = round(RewardConfig().step_seconds / PHYSICS_DT)
    row: dict = {"checkpoint": str(path), "steps_received": steps,
                 "frames": steps * frames_per_step, "updates": agent.iteration}
    for name in ("online", "target"):
        result = evaluate_in_process(
            lambda obs, target=(name == "target"): agent.act(obs, explore=False,
                                                             deployed=target),
            episodes, obs_config=cfg.observation, action_config=cfg.action)
        row[name] = {"mean": result["mean"],
                     "scores": [e["native_score"] for e in result["episodes"]]}
        print(f"{path}: {name} actor {result['mean']:.1f} over {episodes} tracks", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", type=Path, help="learner checkpoints (.pt)")
    p.add_argument("--episodes", type=int, default=QUICK_EPISODES)
    p.add_argument("--out", type=Path, default=RESULTS / "deployed_actor.json")
    ns = p.parse_args(argv)
    missing = [str(c) for c in ns.checkpoints if not c.is_file()]
    if missing:
        p.error(f"no such checkpoint: {', '.join(missing)}")
    torch.set_num_threads(1)
    report = report_header("deployed_actor")
    report["episodes"] = ns.episodes
    report["rows"] = [score_actors(c, ns.episodes) for c in ns.checkpoints]
    for r in report["rows"]:
        print(f"{r['checkpoint']}: online {r['online']['mean']:.1f}, "
              f"target {r['target']['mean']:.1f}")
    write_json(report, ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
