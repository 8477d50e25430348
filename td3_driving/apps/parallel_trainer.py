"""ROS-free TD3 on the driving task with parallel simulators: the long runs on a GPU host.

    python -m td3_driving.apps.parallel_trainer --run_dir runs/camera-1m --num_envs 14 \
        --frames 1000000 --minutes 10 --set learner.observation.preset=camera \
        --set learner.device=cuda [--resume]

The agents' task in-process (td3_driving.sim.driving_env.DrivingEnv: the same camera
frames, observation preset, reward and episode ends as the ROS stack), ``--num_envs``
simulators in worker processes stepped together, one batched forward pass of the actor
per step of all of them, and the learner (replay buffer, TD3Agent) in this process on
``learner.device``. The update-to-data ratio, replay, warm-up and batch come from
config/td3.yaml's ``driving`` section, as the in-process benchmark row.

What a GPU host without ROS needs: Python, torch, numpy, gymnasium[box2d], pygame,
safetensors, PyYAML (no rclpy, no message packages: the core never imports them).

Each sitting trains until ``--frames`` (all sittings together) or ``--minutes`` (this
sitting), evaluating every ``--eval_every_frames`` on 10 tracks (no noise, episodes ending
where the simulator's do; their time not counted as training time), then writes a
checkpoint with the replay buffer, ``policy.safetensors`` and ``results.json``
(evaluations as [frames, score, training wall seconds]); ``--resume`` continues from that
checkpoint, so a long budget spreads over sittings of a limited machine lease.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

from td3_driving.apps.config import TrainerConfig
from td3_driving.apps.gym_tasks import Episode, make_task
from td3_driving.apps.gym_trainer import DEFAULT_CONFIG, evaluate, load_run_config
from td3_driving.core.checkpoint import load_checkpoint, save_checkpoint
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import ConfigError, to_dict
from td3_driving.core.diagnostics import DivergenceError
from td3_driving.core.experience import ExperienceRecorder
from td3_driving.core.files import atomic_write
from td3_driving.core.policy import export_policy
from td3_driving.core.replay import ReplayBuffer
from td3_driving.core.td3 import TD3Agent
from td3_driving.learner.intake import reward_step_bound
from td3_driving.sim.driving_env import EVAL_SEED, QUICK_EPISODES
from td3_driving.task.config import RewardConfig
from td3_driving.task.observation import FrameStack

FRAMES_PER_STEP = 4       # DrivingEnv's 0.08 s ticks
# Training tracks: simulator i of sitting s drives tracks from TRACKS_FROM + seed * 100,000
# + (s * num_envs + i) * 1000 on, disjoint from each other and from the evaluation tracks.
TRACKS_FROM = 2_000_000


def _worker(conn, seed: int, obs_config, action_config) -> None:
    """One simulator: answers ("reset",) and ("step", action) until ("close",)."""
    from td3_driving.sim.driving_env import DrivingEnv
    env = DrivingEnv(seed, obs_config=obs_config, action_config=action_config)
    try:
        while True:
            msg = conn.recv()
            if msg[0] == "reset":
                obs, _ = env.reset()
                conn.send((env.last_frame, obs["vector"]))
            elif msg[0] == "step":
                obs, reward, term, trunc, info = env.step(msg[1])
                conn.send((env.last_frame, obs["vector"], reward, term, trunc, info))
            else:
                break
    finally:
        env.close()
        conn.close()


class ParallelEnvs:
    """``n`` DrivingEnv simulators in worker processes (spawned: safe next to CUDA)."""

    def __init__(self, n: int, sitting: int, cfg: LearnerConfig) -> None:
        ctx = mp.get_context("spawn")
        self.conns, self.procs = [], []
        for i in range(n):
            first_track = TRACKS_FROM + cfg.seed * 100_000 + (sitting * n + i) * 1000
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True,
                               args=(child, first_track, cfg.observation, cfg.action))
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)

    def reset(self, i: int):
        self.conns[i].send(("reset",))
        return self.conns[i].recv()

    def step(self, actions: np.ndarray) -> list:
        for conn, action in zip(self.conns, actions):
            conn.send(("step", action))
        return [conn.recv() for conn in self.conns]

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(("close",))
            except (BrokenPipeError, OSError):
                pass
        for proc in self.procs:
            proc.join(timeout=10)


class Stacks:
    """One frame stack per simulator; observations batched for the actor."""

    def __init__(self, n: int, cfg: LearnerConfig) -> None:
        self.image = cfg.observation.image
        self.stacks = [FrameStack(cfg.observation) for _ in range(n)] if self.image else []
        self.images = [None] * n
        self.vectors = [None] * n

    def set(self, i: int, frame, vector, first: bool) -> None:
        if self.image:
            stack = self.stacks[i]
            self.images[i] = stack.reset(frame) if first else stack.push(frame)
        self.vectors[i] = vector

    def batch(self) -> dict:
        obs = {"vector": np.stack(self.vectors)}
        if self.image:
            obs["image"] = np.stack(self.images)
        return obs


def train(cfg: LearnerConfig, run_dir: Path, num_envs: int, frames: int, minutes: float,
          eval_every_frames: int, resume: bool, eval_episodes: int = QUICK_EPISODES) -> dict:
    """Train one sitting (see the module docstring); returns results.json's content."""
    # the watchdog's Q bound: the reward the simulators' DrivingEnv computes (its default)
    agent = TD3Agent(cfg, reward_bound=reward_step_bound(RewardConfig(), cfg.td3.gamma))
    rng = np.random.default_rng(cfg.seed)
    buffer = ReplayBuffer(cfg.observation, cfg.replay, cfg.action_size, cfg.td3.gamma)
    ckpt = run_dir / "checkpoint.pt"
    results = {"status": "running", "evals": [], "episodes": [], "env_steps": 0,
               "updates": 0, "train_wall_s": 0.0, "sittings": 0}
    if resume:
        if not ckpt.exists():
            raise ConfigError(f"--resume: {ckpt} does not exist; start without --resume")
        load_checkpoint(ckpt, agent, buffer, rng)
        results = json.loads((run_dir / "results.json").read_text())
    run_dir.mkdir(parents=True, exist_ok=True)
    results.update(learner=to_dict(cfg), num_envs=num_envs, device=str(agent.device),
                   command=" ".join(["python -m td3_driving.apps.parallel_trainer",
                                     *sys.argv[1:]]))
    sitting = results["sittings"]
    envs = ParallelEnvs(num_envs, sitting, cfg)
    stacks = Stacks(num_envs, cfg)
    eval_episode = Episode(make_task(_driving(), cfg, EVAL_SEED, evaluation=True), cfg)
    # a new producer id per sitting: the buffer never links steps across a resume
    recorders = [ExperienceRecorder(f"s{sitting}-env{i}", cfg.action_size)
                 for i in range(num_envs)]
    for i in range(num_envs):
        frame, vector = envs.reset(i)
        stacks.set(i, frame, vector, first=True)
        recorders[i].begin_episode(frame, vector)
    steps, updates = results["env_steps"], results["updates"]
    max_steps = -(-frames // FRAMES_PER_STEP)
    eval_every = max(1, eval_every_frames // FRAMES_PER_STEP)
    next_eval = (steps // eval_every + 1) * eval_every
    deadline = time.monotonic() + minutes * 60
    started, eval_s, due = time.monotonic(), 0.0, 0.0
    wall_before = results["train_wall_s"]
    try:
        while steps < max_steps and time.monotonic() < deadline:
            if steps < cfg.td3.learning_starts:
                actions = rng.uniform(-1.0, 1.0, (num_envs, cfg.action_size))
            else:
                actions = agent.act(stacks.batch(), explore=True, rng=rng)
            actions = np.asarray(actions, np.float32)
            for i, (frame, vector, reward, term, trunc, info) in \
                    enumerate(envs.step(actions)):
                recorders[i].step(frame, vector, actions[i], reward, term, trunc)
                buffer.add(recorders[i].flush())
                stacks.set(i, frame, vector, first=False)
                if term or trunc:
                    results["episodes"].append([(steps + 1) * FRAMES_PER_STEP,
                                                info["native_score"], info["route_completion"]])
                    frame, vector = envs.reset(i)
                    stacks.set(i, frame, vector, first=True)
                    recorders[i].begin_episode(frame, vector)
            steps += num_envs
            if steps >= cfg.td3.learning_starts:   # hold the update-to-data ratio
                due += num_envs * cfg.td3.update_to_data
                while due >= 1.0:
                    agent.update(buffer.sample(cfg.td3.batch_size, rng), buffer.fill())
                    updates, due = updates + 1, due - 1.0
            if steps >= next_eval or steps >= max_steps:
                t0 = time.monotonic()
                score = evaluate(agent, eval_episode, eval_episodes)
                train_s = wall_before + t0 - started - eval_s
                results["evals"].append([steps * FRAMES_PER_STEP, score, round(train_s, 1)])
                eval_s += time.monotonic() - t0
                next_eval += eval_every
                print(f"{steps * FRAMES_PER_STEP:,} frames: eval score {score:.1f} "
                      f"({updates:,} updates, {train_s / 60:.1f} min training)", flush=True)
        results["status"] = "finished" if steps >= max_steps else "sitting_done"
    except DivergenceError as exc:
        results["status"], results["error"] = "diverged", str(exc)
        print(f"stopped: {exc}", file=sys.stderr)
    finally:
        envs.close()
    results.update(env_steps=steps, updates=updates, frames=steps * FRAMES_PER_STEP,
                   sittings=results["sittings"] + 1,
                   train_wall_s=round(wall_before + time.monotonic() - started - eval_s, 1))
    # episodes in flight are cut here: a resume starts them over (new recorder ids)
    save_checkpoint(ckpt, agent, buffer, rng, extra={"env_steps": steps})
    export_policy(agent, run_dir / "policy.safetensors")
    atomic_write(run_dir / "results.json",
                 lambda f: f.write(json.dumps(results, indent=1).encode()))
    return results


def _driving() -> TrainerConfig:
    """The trainer settings make_task needs for the driving task."""
    return dataclasses.replace(TrainerConfig(), env="driving")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run_dir", type=Path, required=True)
    p.add_argument("--num_envs", type=int, default=4, help="parallel simulators")
    p.add_argument("--frames", type=int, default=1_000_000,
                   help="training budget in CarRacing frames, all sittings together")
    p.add_argument("--minutes", type=float, default=10.0,
                   help="wall time of this sitting, evaluations included")
    p.add_argument("--eval_every_frames", type=int, default=50_000)
    p.add_argument("--eval_episodes", type=int, default=QUICK_EPISODES,
                   help="tracks per evaluation during training")
    p.add_argument("--resume", action="store_true",
                   help="continue from run-dir/checkpoint.pt with its replay buffer")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="config/td3.yaml override, e.g. learner.observation.preset=camera")
    ns = p.parse_args(argv)
    if ns.num_envs < 1:
        p.error("--num_envs must be at least 1")
    try:
        cfg, _ = load_run_config(ns.config, "driving", ns.set)
        results = train(cfg, ns.run_dir, ns.num_envs, ns.frames, ns.minutes,
                        ns.eval_every_frames, ns.resume, ns.eval_episodes)
    except ConfigError as exc:
        p.error(str(exc))
    print(f"{results['status']}: {results['frames']:,} frames, {results['updates']:,} "
          f"updates, {results['train_wall_s'] / 60:.1f} min of training over "
          f"{results['sittings']} sitting(s); results in {ns.run_dir / 'results.json'}")
    return 0 if results["status"] in ("finished", "sitting_done") else 2


if __name__ == "__main__":
    sys.exit(main())
