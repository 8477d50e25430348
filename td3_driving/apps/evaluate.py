"""Evaluate a policy through the ROS stack with the benchmark protocol.

    python -m td3_driving.apps.evaluate --policy runs/x/policy.safetensors [--episodes 10]
    python -m td3_driving.apps.evaluate --random

Protocol (docs/benchmarks.md): the embedded CarRacing-v3 simulator, tracks seed..seed+N-1
(N = 100 with --headline, 10 for a quick check), each episode ending exactly where the
simulator's native episode ends (lap complete, playfield left, or 1000 frames; never earlier
by the agent's rules), no exploration noise, the simulator's native score and tile fraction
(route_completion) per episode. `--random` drives uniformly random actions (an agent in
train mode with no learner) for the baseline row.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np

from td3_driving.bringup import stack
from td3_driving.bringup.launcher import Stack
from td3_driving.msg import EpisodeStats
from td3_driving.ros import qos
from td3_driving.ros.listener import Listener
from td3_driving.sim.driving_env import (
    EVAL_REWARD,
    EVAL_SEED,
    HEADLINE_EPISODES,
    QUICK_EPISODES,
    evaluate_in_process,
)

# Agents never cut an evaluation episode short: the simulator's own end ends it. Their
# 250-step limit starts at their first frame, at or after the simulator's episode start,
# so it comes at or after the simulator's 1000 frames and then starts the next track.
EVAL_AGENT_PARAMS = tuple((f"reward.{k}", v) for k, v in EVAL_REWARD.items()) + (
    ("exploration_noise", 0.0),)
# The simulator never starts the next track by itself (that would cut the agent's
# episode, and the agent's reset would then cut the simulator's next one short).
EVAL_SIM_PARAMS = (("auto_reset_ticks", 0),)
WALL_S_PER_EPISODE = 90.0   # generous: an episode takes about 5 s of wall time here


def eval_groups(policy: str | None, seed: int, role: str = "ego_vehicle") -> list[stack.Group]:
    """Simulator + agent with the evaluation overrides (drive mode, or random actions)."""
    args = stack.StackArgs(policy=policy or "", role_name=role)
    group = stack.vehicle_group(role, 0, args, "drive" if policy else "train")
    nodes = []
    for spec in group.nodes:
        extra = EVAL_AGENT_PARAMS if spec.executable == "agent" else \
            (("carracing.seed", seed),) + EVAL_SIM_PARAMS
        nodes.append(dataclasses.replace(spec, parameters=spec.parameters + extra))
    return [dataclasses.replace(group, nodes=tuple(nodes))]


class ScoreCollector(Listener):
    """Collects the simulator's per-episode native scores in a background listener."""

    def __init__(self, role: str) -> None:
        super().__init__("evaluate_scores")
        self.episodes: list[dict] = []
        self.node.create_subscription(EpisodeStats, f"/sim/{role}/episode_score",
                                      self._on_score, qos.STATS)

    def _on_score(self, msg: EpisodeStats) -> None:
        if msg.termination_reason == EpisodeStats.REASON_SHUTDOWN:
            return   # cut short by stopping the evaluation: not an episode of the protocol
        with self.lock:
            self.episodes.append({"episode": int(msg.episode_id),
                                  "native_score": msg.native_score,
                                  "route_completion": msg.route_completion,
                                  "ticks": int(msg.length),
                                  "reason": int(msg.termination_reason)})


def evaluate(policy: str | None, episodes: int = QUICK_EPISODES, seed: int = EVAL_SEED,
             timeout_s: float | None = None, quiet: bool = True) -> dict:
    """Run ``episodes`` evaluation episodes; returns scores and their mean and std."""
    timeout_s = timeout_s or max(900.0, WALL_S_PER_EPISODE * episodes)
    collector = ScoreCollector("ego_vehicle")
    nodes = Stack(eval_groups(policy, seed), quiet=quiet)
    nodes.start()
    started = time.monotonic()
    try:
        why = nodes.wait(timeout_s, poll=lambda: len(collector.episodes) >= episodes)
    finally:
        nodes.stop()
        collector.close()
    scores = [e["native_score"] for e in collector.episodes[:episodes]]
    if len(scores) < episodes:
        raise RuntimeError(f"evaluation got {len(scores)} of {episodes} episodes ({why})")
    return {"policy": policy or "random", "seeds": [seed, seed + episodes - 1],
            "episodes": collector.episodes[:episodes], "mean": float(np.mean(scores)),
            "std": float(np.std(scores)), "wall_s": time.monotonic() - started}


def _actor(policy: str | None):
    """The act(obs) function of a policy artifact, or uniformly random actions."""
    if policy is None:
        from td3_driving.core.actions import exploration_action
        rng = np.random.default_rng(0)
        return lambda obs: exploration_action(rng, None, 0.0, 2)   # the warm-up's actions
    from td3_driving.core.policy import Policy
    return Policy.load(policy).act


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--policy", help="policy artifact (.safetensors)")
    who.add_argument("--random", action="store_true", help="uniformly random actions")
    p.add_argument("--episodes", type=int, default=QUICK_EPISODES,
                   help=f"evaluation tracks (default {QUICK_EPISODES}: a quick check)")
    p.add_argument("--headline", action="store_true",
                   help=f"{HEADLINE_EPISODES} tracks: the protocol of a headline score")
    p.add_argument("--seed", type=int, default=EVAL_SEED, help="first evaluation track")
    p.add_argument("--json", help="also write the result to this file")
    p.add_argument("--in_process", action="store_true",
                   help="run the same protocol without ROS (td3_driving.sim.driving_env)")
    ns = p.parse_args(argv)
    if ns.headline:
        ns.episodes = HEADLINE_EPISODES
    if ns.in_process:
        result = {"policy": ns.policy or "random",
                  **evaluate_in_process(_actor(ns.policy), ns.episodes, ns.seed)}
    else:
        result = evaluate(None if ns.random else ns.policy, ns.episodes, ns.seed)
    print(f"{result['policy']}: native score {result['mean']:.1f} ± {result['std']:.1f} over "
          f"{ns.episodes} episodes (tracks {ns.seed}..{ns.seed + ns.episodes - 1})")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
