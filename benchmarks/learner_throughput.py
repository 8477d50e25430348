#!/usr/bin/env python3
"""Learner throughput: our TD3 updates/s vs stable-baselines3 TD3 with matched networks.

Prints, in one run: updates/s (replay sampling included) for encoder_mode separate and
shared at two batch sizes, next to SB3 TD3 MultiInputPolicy with the same NatureCNN and
MLP sizes (parameter counts printed: SB3 and 'separate' match exactly; 'shared' has one
CNN fewer by design), plus both modes with bf16 encoders (network.encoder_precision);
FLOPs per update counted by torch's FlopCounterMode;
the fraction of this machine's measured fp32 matmul peak; the replay buffer's bytes per
transition. A benchmark, not a test: the machine is shared, so each figure is the best of
``--rounds`` interleaved measurements.

    ./env.sh python -m benchmarks.learner_throughput --threads 1 [--json PATH]

Writes ``--json`` (default docs/benchmarks/results/learner_throughput.json):

    {"section": "learner_throughput", **header (see report_header),
     "threads", "updates_timed_per_round", "rounds", "augment_pad",
     "matmul_peak_gflops": best fp32 2048^2 GEMM rate with ``threads`` threads,
     "batches": {"256": {"sb3_updates_per_s",
                         "rows": [{"learner": "ours separate" | "ours shared" |
                                   "ours separate bf16" | "ours shared bf16" | "SB3 TD3",
                                   "params", "updates_per_s", "gflop_per_update",
                                   "gflops_achieved", "fraction_of_matmul_peak",
                                   "ratio_vs_sb3"}, ...]}, "128": {...}},
     "replay": {"bytes_per_transition", "image_shape", "vector_size",
                "sb3_image_bytes_per_transition": obs + next_obs images as SB3 stores them}}

"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import RESULTS, report_header, write_json
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import from_mapping
from td3_driving.core.experience import ExperienceRecorder
from td3_driving.core.replay import ReplayBuffer
from td3_driving.core.td3 import TD3Agent

STEPS = 1200   # synthetic steps in each buffer (6 episodes of 200)


# ---------------------------------------------------------------- learner throughput
def our_config(mode: str, batch: int, threads: int, augment_pad: int,
               precision: str = "float32") -> LearnerConfig:
    return from_mapping(LearnerConfig, {
        "network": {"encoder_mode": mode, "augment_pad": augment_pad,
                    "encoder_precision": precision},
        "td3": {"batch_size": batch}, "replay": {"capacity": STEPS},
        "torch_threads": threads, "device": "cpu"})


def fill_ours(config: LearnerConfig, rng: np.random.Generator) -> ReplayBuffer:
    obs = config.observation
    buffer = ReplayBuffer(obs, config.replay, config.action_size, config.td3.gamma)
    rec = ExperienceRecorder("bench", config.action_size)
    frame = buffer.frame_shape   # empty without an image (observation preset 'state')
    for t in range(STEPS):
        image = rng.integers(0, 256, frame, dtype=np.uint8)
        vector = rng.normal(size=obs.vector_size).astype(np.float32)
        if t % 200 == 0:
            rec.begin_episode(image, vector)
        else:
            rec.step(image, vector, rng.uniform(-1, 1, 2).astype(np.float32),
                     float(rng.normal()), False, t % 200 == 199)
    buffer.add(rec.flush())
    return buffer


class _PixelEnv(gym.Env):
    """Spaces only: SB3 needs an env to build TD3 with a Dict observation."""

    def __init__(self, config: LearnerConfig) -> None:
        obs = config.observation
        self.observation_space = gym.spaces.Dict({
            "image": gym.spaces.Box(0, 255, obs.image_shape, np.uint8),
            "vector": gym.spaces.Box(-np.inf, np.inf, (obs.vector_size,), np.float32)})
        self.action_space = gym.spaces.Box(-1.0, 1.0, (config.action_size,), np.float32)

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def sb3_model(config: LearnerConfig, batch: int, rng: np.random.Generator):
    from stable_baselines3 import TD3
    from stable_baselines3.common.logger import configure
    net = config.network
    model = TD3("MultiInputPolicy", _PixelEnv(config), buffer_size=STEPS, batch_size=batch,
                learning_starts=0, device="cpu", seed=0, policy_kwargs={
                    "net_arch": list(net.hidden_sizes),
                    "features_extractor_kwargs": {"cnn_output_dim": net.feature_dim}})
    model.set_logger(configure(None, []))
    obs = config.observation
    for _ in range(STEPS):
        def o():
            return {"image": rng.integers(0, 256, (1, *obs.image_shape), dtype=np.uint8),
                    "vector": rng.normal(size=(1, obs.vector_size)).astype(np.float32)}
        model.replay_buffer.add(o(), o(), rng.uniform(-1, 1, (1, 2)).astype(np.float32),
                                np.array([rng.normal()]), np.array([False]), [{}])
    return model


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def flops_per_update(step) -> float:
    """FLOPs of one update, averaged over a critic-only and a critic + actor update."""
    with FlopCounterMode(display=False) as counter:
        step(2)
    return counter.get_total_flops() / 2


def updates_per_s(step, updates: int) -> float:
    step(1)   # warm: oneDNN picks its kernels on first use
    start = time.perf_counter()
    step(updates)
    return updates / (time.perf_counter() - start)


def matmul_peak(threads: int, n: int = 2048, reps: int = 10) -> float:
    """Best fp32 GEMM rate of this machine with ``threads`` threads, FLOP/s."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def standalone_updates_per_s(learner: dict, updates: int = 10, rounds: int = 3) -> float:
    """Updates/s of a learner configured as ``learner`` (a run's results.json
    config.learner) alone in this process: best of ``rounds``, on a synthetic buffer.
    The rate that learner would reach if nothing else ran (what a run's stack is compared
    with).
    """
    cfg = from_mapping(LearnerConfig, {**learner, "replay": {**learner["replay"],
                                                             "capacity": STEPS}})
    rng = np.random.default_rng(0)
    agent, buffer = TD3Agent(cfg), fill_ours(cfg, rng)   # (sets cfg.torch_threads)
    batch = cfg.td3.batch_size
    return max(updates_per_s(lambda n: [agent.update(buffer.sample(batch, rng))
                                        for _ in range(n)], updates) for _ in range(rounds))


LEARNERS = [("separate", "float32"), ("shared", "float32"), ("separate", "bfloat16"),
            ("shared", "bfloat16")]


def build(batch: int, args, rng: np.random.Generator) -> dict:
    """{label: (step, params, FLOPs/update)}: ours and SB3 at one batch size."""
    runs = {}
    for mode, precision in LEARNERS:
        cfg = our_config(mode, batch, args.threads, args.augment_pad, precision)
        agent, buffer = TD3Agent(cfg), fill_ours(cfg, rng)
        label = f"ours {mode}" + (" bf16" if precision == "bfloat16" else "")
        runs[label] = (lambda n, a=agent, b=buffer: [a.update(b.sample(batch, rng))
                                                     for _ in range(n)],
                       sum(count_params(m) for m in agent.online.values()))
    model = sb3_model(our_config("separate", batch, args.threads, 0), batch, rng)
    runs["SB3 TD3"] = (lambda n: model.train(gradient_steps=n, batch_size=batch),
                       count_params(model.actor) + count_params(model.critic))
    return {label: (step, params, flops_per_update(step))
            for label, (step, params) in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads for everyone")
    parser.add_argument("--updates", type=int, default=5, help="timed updates per round")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved repeats (best)")
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 128])
    parser.add_argument("--augment_pad", type=int, default=0,
                        help="our random-shift pad (0 = off, as SB3 has none)")
    parser.add_argument("--json", default=str(RESULTS / "learner_throughput.json"),
                        help="JSON report path ('' = none)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    report = report_header("learner_throughput")
    load_before = os.getloadavg()[0]
    peak = matmul_peak(args.threads)
    runs = {batch: build(batch, args, rng) for batch in args.batches}
    best = {(batch, label): 0.0 for batch in runs for label in runs[batch]}
    # rounds interleave every learner and batch size, in alternating order, so that load
    # from other processes hits all alike; each figure is the best round
    for r in range(args.rounds):
        order = list(best) if r % 2 == 0 else list(reversed(best))
        for batch, label in order:
            torch.set_num_threads(args.threads)
            ups = updates_per_s(runs[batch][label][0], args.updates)
            best[batch, label] = max(best[batch, label], ups)
    peak = max(peak, matmul_peak(args.threads))
    print(f"threads={args.threads}  fp32 matmul peak {peak / 1e9:.1f} GFLOP/s (best 2048^2 "
          f"GEMM)  torch {torch.__version__}  augment_pad={args.augment_pad}  "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    report.update(threads=args.threads, updates_timed_per_round=args.updates,
                  rounds=args.rounds, augment_pad=args.augment_pad,
                  matmul_peak_gflops=round(peak / 1e9, 2), batches={})
    for batch, rows in runs.items():
        sb3 = best[batch, "SB3 TD3"]
        print(f"\nbatch {batch}")
        print(f"{'learner':<20}{'params':>11}{'upd/s':>8}{'GFLOP/upd':>11}{'GFLOP/s':>9}"
              f"{'of fp32 peak':>14}{'vs SB3':>8}")
        table = []
        for label, (_, params, flops) in rows.items():
            ups = best[batch, label]
            print(f"{label:<20}{params:>11,}{ups:>8.2f}{flops / 1e9:>11.2f}"
                  f"{ups * flops / 1e9:>9.1f}{ups * flops / peak:>14.0%}{ups / sb3:>7.2f}x")
            table.append({"learner": label, "params": params, "updates_per_s": round(ups, 3),
                          "gflop_per_update": round(flops / 1e9, 3),
                          "gflops_achieved": round(ups * flops / 1e9, 2),
                          "fraction_of_matmul_peak": round(ups * flops / peak, 4),
                          "ratio_vs_sb3": round(ups / sb3, 3)})
        report["batches"][str(batch)] = {"sb3_updates_per_s": round(sb3, 3), "rows": table}

    cfg = from_mapping(LearnerConfig, {"replay": {"capacity": 1000}})
    buffer = ReplayBuffer(cfg.observation, cfg.replay, cfg.action_size, cfg.td3.gamma)
    sb3_images = int(2 * np.prod(cfg.observation.image_shape))
    print(f"\nreplay bytes/transition at {cfg.observation.image_shape}, vector "
          f"{cfg.observation.vector_size}: {buffer.bytes_per_transition():.0f} "
          f"(SB3 DictReplayBuffer stores obs and next_obs: "
          f"{sb3_images:,} bytes of images alone)")
    report["replay"] = {"bytes_per_transition": round(buffer.bytes_per_transition(), 1),
                        "image_shape": list(cfg.observation.image_shape),
                        "vector_size": cfg.observation.vector_size,
                        "sb3_image_bytes_per_transition": sb3_images}
    if args.json:
        write_json(report, args.json)


if __name__ == "__main__":
    main()
