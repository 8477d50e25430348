"""In-process TD3 trainer over gymnasium (no ROS): the baseline for the ROS stack.

Runs the same core the learner node runs (observation building, experience recording,
replay buffer, TD3Agent) on CarRacing-v3 from pixels or Pendulum-v1 from state, logs to
TensorBoard under the learner node's tags (``charts/`` episodes, evaluation and Q
estimates, ``losses/``, ``grads/``),
and writes ``results.json``, ``checkpoint.pt`` and ``policy.safetensors`` into the run dir.

    python -m td3_driving.apps.gym_trainer --env pendulum --run_dir runs/pendulum
    python -m td3_driving.apps.gym_trainer --env carracing --set learner.td3.batch_size=256
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from td3_driving.apps.config import ENVS, TrainerConfig
from td3_driving.apps.gym_tasks import Episode, make_task
from td3_driving.core.actions import exploration_action
from td3_driving.core.checkpoint import save_checkpoint
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import (
    ConfigError,
    from_mapping,
    merge_into,
    parse_assignments,
    to_dict,
    unflatten,
)
from td3_driving.core.diagnostics import DivergenceError
from td3_driving.core.experience import ExperienceRecorder
from td3_driving.core.files import atomic_write
from td3_driving.core.policy import export_policy
from td3_driving.core.replay import ReplayBuffer
from td3_driving.core.td3 import TD3Agent
from td3_driving.learner.metrics import tensorboard_tag
from td3_driving.sim.driving_env import EVAL_SEED

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "td3.yaml"
def evaluate(agent: TD3Agent, episode: Episode, n: int) -> float:
    """Mean native score of ``n`` episodes without exploration noise."""
    if hasattr(episode.task, "restart"):
        episode.task.restart()
    scores = []
    for _ in range(n):
        _, _, obs = episode.reset()
        total, done = 0.0, False
        while not done:
            action = agent.act(obs, explore=False, deployed=True)
            _, _, obs, reward, term, trunc = episode.step(action)
            total, done = total + reward, term or trunc
        scores.append(episode.task.episode_info(total)["score"])
    return float(np.mean(scores))


def train(cfg: LearnerConfig, trainer: TrainerConfig, run_dir: Path) -> dict:
    from torch.utils.tensorboard import SummaryWriter  # heavy import, only when training
    run_dir.mkdir(parents=True, exist_ok=True)
    writer = SummaryWriter(str(run_dir))
    episode = Episode(make_task(trainer, cfg, cfg.seed), cfg)
    # the watchdog's reward bound is the task's own, after the scaling applied below
    agent = TD3Agent(cfg, reward_bound=episode.task.reward_bound * trainer.reward_scale or None)
    rng = np.random.default_rng(cfg.seed)
    buffer = ReplayBuffer(cfg.observation, cfg.replay, cfg.action_size, cfg.td3.gamma)
    recorder = ExperienceRecorder(trainer.env, cfg.action_size)
    eval_seed = EVAL_SEED if trainer.env == "driving" else cfg.seed + 10_000
    eval_episode = Episode(make_task(trainer, cfg, eval_seed, evaluation=True), cfg)
    results: dict[str, Any] = {"env": trainer.env, "status": "running", "evals": [],
                               "episodes": [],
               "learner": to_dict(cfg), "trainer": to_dict(trainer)}
    start, updates, due, ep_return, ep_len = time.perf_counter(), 0, 0.0, 0.0, 0
    eval_s = 0.0   # wall seconds spent in evaluations
    frame, vector, obs = episode.reset()
    recorder.begin_episode(frame, vector)
    try:
        for step in range(1, trainer.total_steps + 1):
            if step <= cfg.td3.learning_starts:   # uniform random actions fill the buffer
                action = exploration_action(rng, None, 0.0, cfg.action_size)
            else:
                action = agent.act(obs, explore=True, rng=rng)
            frame, vector, obs, reward, term, trunc = episode.step(action)
            recorder.step(frame, vector, action, reward * trainer.reward_scale, term, trunc)
            batch = recorder.flush()
            assert batch is not None   # one step was just recorded
            buffer.add(batch)
            ep_return, ep_len = ep_return + reward, ep_len + 1
            if term or trunc:
                # the learner node's tags (learner/workspace.py): one dashboard for both
                writer.add_scalar("charts/episode_return", ep_return, step)
                writer.add_scalar("charts/episode_length", ep_len, step)
                info = episode.task.episode_info(ep_return)
                writer.add_scalar("charts/native_score", info["score"], step)
                results["episodes"].append({"env_steps": step, "return": ep_return,
                                            "length": ep_len, **info})
                frame, vector, obs = episode.reset()
                recorder.begin_episode(frame, vector)
                ep_return, ep_len = 0.0, 0
            if step >= cfg.td3.learning_starts:   # hold the update-to-data ratio
                due += cfg.td3.update_to_data
                while due >= 1.0:
                    metrics = agent.update(buffer.sample(cfg.td3.batch_size, rng),
                                           buffer.fill())
                    updates, due = updates + 1, due - 1.0
                    if updates % trainer.log_every == 0:
                        for key, value in metrics.items():
                            writer.add_scalar(tensorboard_tag(key), value, step)
                        elapsed = time.perf_counter() - start
                        writer.add_scalar("charts/updates_per_s", updates / elapsed, step)
                        writer.add_scalar("charts/sps", step / elapsed, step)
            if step % trainer.eval_every == 0 or step == trainer.total_steps:
                eval_started = time.perf_counter()
                score = evaluate(agent, eval_episode, trainer.eval_episodes)
                writer.add_scalar("charts/eval_return", score, step)
                # [step, score, training wall seconds so far, evaluations not counted]
                results["evals"].append([step, score, round(eval_started - start - eval_s, 1)])
                eval_s += time.perf_counter() - eval_started
                print(f"step {step}: eval return {score:.1f} ({updates} updates, "
                      f"{time.perf_counter() - start:.0f} s)", flush=True)
        results["status"] = "finished"
    except DivergenceError as exc:
        results["status"], results["error"] = "diverged", str(exc)
        print(f"stopped: {exc}", file=sys.stderr)
    wall = time.perf_counter() - start
    results.update(env_steps=step, updates=updates, wall_s=round(wall, 1),
                   updates_per_s=round(updates / wall, 2),
                   final_eval_return=results["evals"][-1][1] if results["evals"] else None)
    save_checkpoint(run_dir / "checkpoint.pt", agent, rng=rng, extra={"env_steps": step})
    export_policy(agent, run_dir / "policy.safetensors")
    atomic_write(run_dir / "results.json", lambda f: f.write(json.dumps(results, indent=2)
                                                              .encode()))
    writer.close()
    return results


def load_run_config(path: Path, env: str, overrides: list[str]) -> tuple:
    """(LearnerConfig, TrainerConfig) from section ``env`` of the YAML plus ``key=value``."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    if env not in data:
        raise ConfigError(f"{path}: no section '{env}' (found {sorted(data)})")
    section = {"learner": {}, "trainer": {}, **data[env]}
    hint = "learner.<field>=<value> or trainer.<field>=<value>"
    for item in overrides:
        assigned = parse_assignments([item], example=hint)
        if next(iter(assigned)).split(".")[0] not in ("learner", "trainer"):
            raise ConfigError(f"--set {item!r}: expected {hint}")
        nested = unflatten(assigned)
        for part in ("learner", "trainer"):
            merge_into(section[part], nested.get(part, {}))
    section["trainer"]["env"] = env
    where = f"{path}:{env}"   # --set values are merged in: keys name them the same way
    return (from_mapping(LearnerConfig, section["learner"], f"{where}.learner"),
            from_mapping(TrainerConfig, section["trainer"], f"{where}.trainer"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=ENVS, default="pendulum")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help="YAML with one section per env (default: config/td3.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override, e.g. learner.td3.batch_size=256 or "
                             "trainer.total_steps=5000 (repeatable)")
    parser.add_argument("--run_dir", type=Path, help="default: runs/<env>-<time>")
    args = parser.parse_args(argv)
    try:
        cfg, trainer = load_run_config(args.config, args.env, args.set)
    except ConfigError as exc:
        parser.error(str(exc))
    run_dir = args.run_dir or Path("runs") / f"{args.env}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        results = train(cfg, trainer, run_dir)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(f"{results['status']}: final eval return {results['final_eval_return']} "
          f"after {results['env_steps']} steps; results in {run_dir / 'results.json'}")
    return 0 if results["status"] == "finished" else 2


if __name__ == "__main__":
    sys.exit(main())
