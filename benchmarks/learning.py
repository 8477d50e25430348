"""Learning benchmark, in-process rows: our TD3 core and stable-baselines3 TD3 / SAC.

    python -m benchmarks.learning --row td3 --seed 0 [--preset route] [--frames 100000]
    python -m benchmarks.learning --row sb3-td3 --seed 0 [--preset route]
    python -m benchmarks.learning --row sb3-sac --seed 0
    python -m benchmarks.learning --row td3 --seed 0 --set learner.replay.n_step=3 --tag n3

Every row trains on td3_driving.sim.driving_env.DrivingEnv, the agents' own task without
ROS (the same camera frames, Dict observation, reward and episode ends), for the same
budget of CarRacing physics frames (4 per agent step) at the same update-to-data ratio
(0.25 updates per step), replay capacity, warm-up and batch size as config/train.yaml;
the other hyper-parameters are each library's defaults; --preset chooses the observation
(td3_driving/core/config.py; default: the package's). Every --eval_every_frames an
evaluation on 10 tracks (no noise) records [frames, score, training wall seconds] (the
evaluations' own time not counted). Then the benchmark protocol: 100 tracks from
1,000,000, episodes ending where the simulator's native episode ends, no exploration
noise, native score (td3_driving.sim.driving_env.evaluate_in_process). Writes the record
with the training curve (every training episode: frames, native score, route completion)
and the evaluations to docs/benchmarks/results/learning-<row>[-<preset>][-<tag>]-s<seed>.json
(benchmarks/make_benchmarks_doc.py reads it); run directories go to runs/bench/. A
``--set learner.KEY=VALUE`` run is a variant of the default: its own row, named by --tag.
ROS-free and GPU-capable (--device cuda); the ROS rows come from benchmarks/learning_smoke.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import RESULTS, ROOT, command_line, variant_problem
from td3_driving.apps.facts import machine_facts
from td3_driving.core.config import ObservationConfig
from td3_driving.core.config_base import parse_assignments
from td3_driving.sim.driving_env import (
    HEADLINE_EPISODES,
    QUICK_EPISODES,
    DrivingEnv,
    evaluate_in_process,
)
from td3_driving.task.driving import DEFAULT_PRESET

FRAMES_PER_STEP = 4
MATCHED = {"buffer_size": 100_000, "learning_starts": 2000, "batch_size": 128,
           "update_to_data": 0.25, "exploration_noise": 0.1}   # config/train.yaml


def run_td3(seed: int, steps: int, device: str, run_dir: Path, extra: list[str],
            preset: str, eval_every: int) -> dict:
    from td3_driving.apps.gym_trainer import DEFAULT_CONFIG, load_run_config, train
    overrides = [f"trainer.total_steps={steps}", f"learner.seed={seed}",
                 f"learner.device={device}", f"learner.observation.preset={preset}",
                 f"trainer.eval_every={eval_every}",
                 f"trainer.eval_episodes={QUICK_EPISODES}", *extra]
    cfg, trainer = load_run_config(DEFAULT_CONFIG, "driving", overrides)
    assert cfg.td3.batch_size == MATCHED["batch_size"], "config/td3.yaml drifted"
    results = train(cfg, trainer, run_dir)
    from td3_driving.core.policy import Policy
    policy = Policy.load(run_dir / "policy.safetensors")
    curve = [[e["env_steps"] * FRAMES_PER_STEP, e["score"], e["route_completion"]]
             for e in results["episodes"]]
    return {"updates": results["updates"], "curve": curve, "status": results["status"],
            "evals": [[s * FRAMES_PER_STEP, v, wall] for s, v, wall in results["evals"]],
            "act": policy.act, "obs_config": policy.observation}


class _EpisodeLog:
    """An SB3 callback: every finished training episode's native score, and an evaluation
    on QUICK_EPISODES tracks every ``eval_every`` steps (its time not counted).
    """

    def __init__(self, eval_every: int, obs_config: ObservationConfig):
        from stable_baselines3.common.callbacks import BaseCallback

        class Callback(BaseCallback):
            def __init__(cb):
                super().__init__()
                cb.curve, cb.evals = [], []
                cb.started, cb.eval_s = time.monotonic(), 0.0

            def _on_step(cb) -> bool:
                for done, info in zip(cb.locals["dones"], cb.locals["infos"]):
                    if done and "native_score" in info:
                        cb.curve.append([cb.num_timesteps * FRAMES_PER_STEP,
                                         info["native_score"], info["route_completion"]])
                if eval_every and cb.num_timesteps % eval_every == 0:
                    t0 = time.monotonic()
                    score = evaluate_in_process(_sb3_act(cb.model), QUICK_EPISODES,
                                                obs_config=obs_config)["mean"]
                    cb.evals.append([cb.num_timesteps * FRAMES_PER_STEP, score,
                                     round(t0 - cb.started - cb.eval_s, 1)])
                    cb.eval_s += time.monotonic() - t0
                    # SB3 runs with verbose=0: this line is the run's only sign of progress
                    print(f"{cb.num_timesteps * FRAMES_PER_STEP:,} frames: native score "
                          f"{score:.1f} over {QUICK_EPISODES} tracks "
                          f"({cb.evals[-1][2] / 60:.1f} min of training)", flush=True)
                return True
        self.callback = Callback()


def _sb3_act(model):
    def act(obs):
        action, _ = model.predict(obs, deterministic=True)
        return np.asarray(action, np.float32)
    return act


def run_sb3(algo: str, seed: int, steps: int, device: str, run_dir: Path, preset: str,
            eval_every: int) -> dict:
    from stable_baselines3 import SAC, TD3
    from stable_baselines3.common.noise import NormalActionNoise
    obs_config = ObservationConfig(preset=preset)
    env = DrivingEnv(seed * 1000, obs_config=obs_config)   # the ROS stack's first vehicle
    common = dict(buffer_size=MATCHED["buffer_size"], learning_starts=MATCHED["learning_starts"],
                  batch_size=MATCHED["batch_size"], seed=seed, device=device, verbose=0,
                  train_freq=(round(1 / MATCHED["update_to_data"]), "step"), gradient_steps=1)
    if algo == "td3":
        noise = NormalActionNoise(np.zeros(2), MATCHED["exploration_noise"] * np.ones(2))
        model = TD3("MultiInputPolicy", env, action_noise=noise, **common)
    else:
        model = SAC("MultiInputPolicy", env, **common)
    log = _EpisodeLog(eval_every, obs_config)
    model.learn(total_timesteps=steps, callback=log.callback)
    run_dir.mkdir(parents=True, exist_ok=True)
    model.policy.save(str(run_dir / "sb3_policy.pt"))   # SB3's own format, for reference
    return {"updates": int(model._n_updates), "curve": log.callback.curve, "status": "finished",
            "evals": log.callback.evals, "act": _sb3_act(model), "obs_config": obs_config}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--row", choices=("td3", "sb3-td3", "sb3-sac"), required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, default=100_000)
    p.add_argument("--device", default="auto")
    p.add_argument("--preset", choices=("route", "camera", "state"), default=DEFAULT_PRESET,
                   help="observation.preset (default: the package's)")
    p.add_argument("--eval_episodes", type=int, default=HEADLINE_EPISODES,
                   help="tracks of the final score")
    p.add_argument("--eval_every_frames", type=int, default=10_000,
                   help="a 10-track evaluation during training every this many frames "
                        "(0: none)")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "bench", help="run directories")
    p.add_argument("--results", type=Path, default=RESULTS,
                   help="where the JSON record goes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="row td3: a config/td3.yaml override, e.g. learner.replay.n_step=3 "
                        "(repeatable); a learner.* override needs --tag")
    p.add_argument("--tag", default="",
                   help="the variant's name: its row is td3-<preset>-<tag>")
    ns = p.parse_args(argv)
    try:
        overrides = parse_assignments(ns.set)
    except ValueError as e:
        p.error(str(e))
    if overrides and ns.row != "td3":
        p.error(f"--set overrides config/td3.yaml, which only row td3 reads (not {ns.row})")
    problem = variant_problem(ns.tag, any(k.startswith("learner.") for k in overrides))
    if problem:
        p.error(problem)
    torch.set_num_threads(1)
    steps = -(-ns.frames // FRAMES_PER_STEP)
    eval_every = ns.eval_every_frames // FRAMES_PER_STEP
    # td3 rows are named by preset (as the ROS rows); SB3 rows run the default preset
    row = f"td3-{ns.preset}" if ns.row == "td3" else ns.row
    if ns.row != "td3" and ns.preset != DEFAULT_PRESET:
        row += f"-{ns.preset}"
    if ns.tag:
        row += f"-{ns.tag}"
    name = f"{row}-s{ns.seed}" + ("" if ns.frames == 100_000 else f"-{ns.frames // 1000}k")
    run_dir = ns.out / name
    started = time.monotonic()
    if ns.row == "td3":
        result = run_td3(ns.seed, steps, ns.device, run_dir, ns.set, ns.preset, eval_every)
    else:
        result = run_sb3(ns.row.split("-")[1], ns.seed, steps, ns.device, run_dir, ns.preset,
                         eval_every)
    train_wall = time.monotonic() - started
    act, obs_config = result.pop("act"), result.pop("obs_config")
    final = evaluate_in_process(act, ns.eval_episodes, obs_config=obs_config)
    record = {"section": "learning", "row": row, "seed": ns.seed, "preset": ns.preset,
              # the ROS rows' field (learning_smoke): the learner's own parameter names
              "learner_overrides": {k.removeprefix("learner."): v for k, v in overrides.items()
                                    if k.startswith("learner.")},
              "trainer_overrides": {k: v for k, v in overrides.items()
                                    if not k.startswith("learner.")},
              "frames": steps * FRAMES_PER_STEP, "env_steps": steps,
              "train_wall_s": round(train_wall, 1),
              "device": ns.device, "machine": machine_facts(), **result, "final": final,
              "command": command_line()}
    ns.results.mkdir(parents=True, exist_ok=True)
    (ns.results / f"learning-{name}.json").write_text(json.dumps(record, indent=1))
    print(f"{name}: {record['frames']:,} frames, {result['updates']:,} updates in "
          f"{train_wall / 60:.1f} min; native score {final['mean']:.1f} ± {final['std']:.1f}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
