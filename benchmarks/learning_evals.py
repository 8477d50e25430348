"""Periodic evaluations of a training run, from its checkpoints (ROS-free).

The ROS learner writes a checkpoint every ``checkpoint_period_updates``; each holds the
actor and the number of steps received. Evaluating every checkpoint with the benchmark
protocol (td3_driving.sim.driving_env.evaluate_in_process: 10 tracks from 1,000,000, no
noise, episodes ending where the simulator's do) gives the learning curve of evaluation
scores and the frames and wall-clock minutes until a score first reached 900, without
slowing the training it measures. Used by benchmarks/learning_smoke.py.

Wall-clock time of a checkpoint is its file's modification time, counted from the start
of the sitting that wrote it, plus the training time of the earlier sittings
(``sittings.json`` in the run directory), so a run resumed across sittings adds up.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from td3_driving.core.checkpoint import load_checkpoint, read_checkpoint_config
from td3_driving.core.td3 import TD3Agent
from td3_driving.sim.driving_env import QUICK_EPISODES, evaluate_in_process

# (learner parameters of a run whose checkpoints are its periodic evaluations)
KEEP_ALL = 1000   # the learner's maximum; evaluated ones are deleted after each sitting


def checkpoint_learner_params(eval_every_steps: int, update_to_data: float) -> dict:
    """Learner overrides: a checkpoint every ``eval_every_steps`` agent steps, all kept."""
    return {"checkpoint_period_updates": max(1, round(eval_every_steps * update_to_data)),
            "checkpoint_period_s": 0.0, "keep_checkpoints": KEEP_ALL}


class Sittings:
    """Wall-clock bookkeeping of a run trained in one or more sittings."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "sittings.json"
        self.items: list[dict] = json.loads(self.path.read_text()) if self.path.exists() \
            else []

    def begin(self) -> None:
        self.items.append({"start_unix": time.time(), "train_wall_s": None})

    def end(self, train_wall_s: float) -> None:
        self.items[-1]["train_wall_s"] = round(train_wall_s, 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.items, indent=1))

    @property
    def train_wall_s(self) -> float:
        return sum(s["train_wall_s"] or 0.0 for s in self.items)

    def wall_at(self, unix: float) -> float | None:
        """Training wall seconds of the run at time ``unix`` (None: outside the sittings)."""
        before = 0.0
        for s in self.items:
            end = s["start_unix"] + (s["train_wall_s"] or float("inf"))
            if s["start_unix"] <= unix <= end + 60.0:   # the last checkpoint, at shutdown
                return before + min(unix - s["start_unix"], s["train_wall_s"] or float("inf"))
            before += s["train_wall_s"] or 0.0
        return None


def checkpoint_act(path: Path):
    """(act(obs) without noise, LearnerConfig, extra counters) of one checkpoint."""
    cfg = read_checkpoint_config(path)
    agent = TD3Agent(cfg)
    extra = load_checkpoint(path, agent)
    return (lambda obs: agent.act(obs, explore=False, deployed=True)), cfg, extra


def evaluate_checkpoints(run_dir: Path, frames_per_step: int, sittings: Sittings,
                         episodes: int = QUICK_EPISODES) -> list[list]:
    """[frames, mean score, training wall s, checkpoint] of every checkpoint of a run.

    Results are cached in ``evals.json`` (a checkpoint is evaluated once); every
    evaluated checkpoint but the newest is then deleted with its replay file, so a long
    run's disk use stays that of one checkpoint.
    """
    torch.set_num_threads(1)
    cache_path = run_dir / "evals.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    checkpoints = sorted((run_dir / "checkpoints").glob("ckpt_*.pt"))
    for path in checkpoints:
        if path.name in cache:
            continue
        act, cfg, extra = checkpoint_act(path)
        result = evaluate_in_process(act, episodes, obs_config=cfg.observation,
                                     action_config=cfg.action)
        cache[path.name] = [int(extra.get("steps_received", 0)) * frames_per_step,
                            result["mean"], sittings.wall_at(path.stat().st_mtime), path.name]
        print(f"evaluation of {path.name}: {cache[path.name][0]:,} frames, native score "
              f"{result['mean']:.1f} over {episodes} tracks", flush=True)
        cache_path.write_text(json.dumps(cache, indent=1))
    for path in checkpoints[:-1]:
        path.unlink(missing_ok=True)
        # the learner's replay file of a checkpoint (its RunDir.replay_path)
        path.with_name(path.name + ".replay.npz").unlink(missing_ok=True)
    return sorted(cache.values(), key=lambda e: e[0])
