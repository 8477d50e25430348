"""Evaluate a policy through the ROS stack with the benchmark protocol.

    python -m td3_driving.apps.evaluate --policy runs/x/policy.safetensors [--episodes 10]
    python -m td3_driving.apps.evaluate --random
    python -m td3_driving.apps.evaluate --policy P --in_process --record runs/bags --video drive.mp4

Protocol (docs/benchmarks.md): the embedded CarRacing-v3 simulator, tracks seed..seed+N-1
(N = 100 with --headline, 10 for a quick check), each episode ending exactly where the
simulator's native episode ends (lap complete, playfield left, or 1000 frames; never earlier
by the agent's rules), no exploration noise, the simulator's native score and tile fraction
(route_completion) per episode. `--random` drives uniformly random actions (an agent in
train mode with no learner) for the baseline row.

Recordings: ``--record DIR`` writes each episode as a ROS 2 bag (MCAP, rosbag2 folder;
td3_driving.apps.record lists the topics). In-process (``--in_process``) the bag also holds
the processed observation, every reward term and the critic's Q of each action taken (from
the run's checkpoint next to the policy file, or ``--critic``); through the ROS stack it holds
what the stack publishes (camera, commands, odometry, TF, the agent's debug topics, stats).
``--video FILE`` (.mp4 or .gif) renders the first episode: camera, route, commands, speed, Q.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from td3_driving.apps.facts import command_line, machine_facts
from td3_driving.bringup import stack
from td3_driving.bringup.launcher import Stack
from td3_driving.msg import EpisodeStats
from td3_driving.ros import qos
from td3_driving.ros.listener import Listener
from td3_driving.ros.progress import eta, time_left
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


class EpisodeProgress:
    """``[evaluate] 3/100 episodes | 3% ETA 0:04:10 | last score 812.3`` on stderr, once
    per finished episode: an evaluation over 100 tracks says how long it has to go.
    """

    def __init__(self, total: int, label: str = "evaluate") -> None:
        self.total, self.label = total, label
        self.done = 0
        self.started = time.monotonic()

    def __call__(self, done: int, last_score: float | None = None) -> None:
        if done <= self.done:
            return
        self.done = min(done, self.total)
        elapsed = time.monotonic() - self.started
        text = eta(self.done / self.total,
                   time_left(elapsed, self.done, self.total, None, self.done / elapsed))
        score = "" if last_score is None else f" | last score {last_score:.1f}"
        print(f"[{self.label}] {self.done}/{self.total} episodes | {text}{score}",
              file=sys.stderr, flush=True)


def evaluate(policy: str | None, episodes: int = QUICK_EPISODES, seed: int = EVAL_SEED,
             timeout_s: float | None = None, quiet: bool = True,
             record: Path | None = None) -> dict:
    """Run ``episodes`` evaluation episodes; returns scores and their mean and std.

    ``record``: a folder for one bag per episode, written by a recorder node
    (td3_driving.apps.record.RecorderNode) that subscribes to the stack's topics.
    """
    timeout_s = timeout_s or max(900.0, WALL_S_PER_EPISODE * episodes)
    collector = ScoreCollector("ego_vehicle")
    recorder = _start_recorder(collector, record) if record is not None else None
    nodes = Stack(eval_groups(policy, seed), quiet=quiet)
    nodes.start()
    started = time.monotonic()
    progress = EpisodeProgress(episodes)

    def enough() -> bool:
        got = list(collector.episodes)
        if got:
            progress(len(got), got[-1]["native_score"])
        return len(got) >= episodes

    try:
        why = nodes.wait(timeout_s, poll=enough)
    finally:
        nodes.stop()
        if recorder is not None:   # its last, unfinished bag is kept as _incomplete
            collector.executor.remove_node(recorder)
            recorder.close()
            recorder.destroy_node()
        collector.close()
    scores = [e["native_score"] for e in collector.episodes[:episodes]]
    if len(scores) < episodes:
        raise RuntimeError(f"evaluation got {len(scores)} of {episodes} episodes ({why})")
    result = {"policy": policy or "random", "seeds": [seed, seed + episodes - 1],
              "episodes": collector.episodes[:episodes], "mean": float(np.mean(scores)),
              "std": float(np.std(scores)), "wall_s": time.monotonic() - started}
    if recorder is not None:
        result["bags"] = [str(p) for p in recorder.paths[:episodes]]
    return result


def _start_recorder(collector: ScoreCollector, out: Path):
    """The recorder node, spun by the score collector's executor (one background thread)."""
    from td3_driving.apps.record import RecorderNode
    node = RecorderNode(out, "ego_vehicle", context=collector.context)
    collector.executor.add_node(node)
    return node


def evaluate_recorded(policy: str | None, episodes: int, seed: int, out: Path,
                      critic: str | None = None, **env_kwargs) -> dict:
    """The in-process protocol (evaluate_in_process), each episode recorded as a bag.

    ``env_kwargs`` reach DrivingEnv (tests shorten episodes with ``sim_config``).
    """
    from td3_driving.ros.episode_bag import EpisodeRecorder
    q = _critic(policy, critic)
    return {"policy": policy or "random",
            **evaluate_in_process(_actor(policy), episodes, seed,
                                  on_episode=EpisodeProgress(episodes),
                                  recorder=lambda env: EpisodeRecorder(out, env, critic=q),
                                  **env_kwargs)}


def _actor(policy: str | None):
    """The act(obs) function of a policy artifact, or uniformly random actions."""
    if policy is None:
        from td3_driving.core.actions import exploration_action
        rng = np.random.default_rng(0)
        return lambda obs: exploration_action(rng, None, 0.0, 2)   # the warm-up's actions
    from td3_driving.core.policy import Policy
    return Policy.load(policy).act


def _critic(policy: str | None, checkpoint: str | None):
    """min(Q1, Q2)(obs, action) of the run's critic, or None (with the reason printed)."""
    from td3_driving.recording.critic import CriticQ, find_checkpoint
    if checkpoint is None:
        if policy is None:
            return None
        found = find_checkpoint(policy)
        if found is None:
            print(f"no critic: Q is not recorded. {policy} holds the actor only and no "
                  "checkpoint lies next to it (checkpoints/ckpt_*.pt or checkpoint.pt); pass "
                  "--critic CHECKPOINT of the run that trained it", file=sys.stderr)
            return None
        checkpoint = str(found)
    q = CriticQ(checkpoint)
    if policy is not None:
        from td3_driving.core.policy import Policy
        if not q.same_actor(Policy.load(policy).actor):
            print(f"note: {checkpoint} (update {q.updates}) holds a different actor than "
                  f"{policy}; Q is that checkpoint's critic's estimate of the actions taken",
                  file=sys.stderr)
    return q


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
    p.add_argument("--record", type=Path, metavar="DIR",
                   help="write each episode as a ROS 2 bag (MCAP) into this folder")
    p.add_argument("--video", type=Path, metavar="FILE",
                   help="render the first episode into this .mp4 or .gif")
    p.add_argument("--video_scale", type=int, default=4, metavar="N",
                   help="video pixels per camera pixel (default 4)")
    p.add_argument("--critic", metavar="CHECKPOINT",
                   help="checkpoint whose critic gives Q in recordings (default: the newest "
                        "checkpoint of the policy's run directory)")
    ns = p.parse_args(argv)
    if ns.headline:
        ns.episodes = HEADLINE_EPISODES
    if ns.video is not None and ns.video.suffix.lower() not in (".mp4", ".gif"):
        p.error(f"--video {ns.video}: the file name must end in .mp4 or .gif")
    if ns.critic is not None and not ns.in_process:
        p.error("--critic needs --in_process: through the ROS stack the agent computes no Q")
    if ns.record is not None and ns.record.exists() and any(ns.record.iterdir()):
        p.error(f"--record {ns.record}: folder is not empty; choose a new one (recordings "
                "are never overwritten)")
    with tempfile.TemporaryDirectory(prefix="td3_eval_") as tmp:
        record = ns.record or (Path(tmp) / "bags" if ns.video else None)
        policy = None if ns.random else ns.policy
        if ns.in_process and record is not None:
            result = evaluate_recorded(policy, ns.episodes, ns.seed, record, ns.critic)
        elif ns.in_process:
            result = {"policy": ns.policy or "random",
                      **evaluate_in_process(_actor(ns.policy), ns.episodes, ns.seed,
                                          on_episode=EpisodeProgress(ns.episodes))}
        else:
            result = evaluate(policy, ns.episodes, ns.seed, record=record)
        if ns.video is not None:
            from td3_driving.recording.video import bag_to_video
            if not result.get("bags"):
                print("no episode was recorded: no video", file=sys.stderr)
                return 1
            frames = bag_to_video(result["bags"][0], ns.video, scale=ns.video_scale)
            print(f"video: {ns.video} ({frames} frames of episode 0)")
    if ns.record is None:
        result.pop("bags", None)   # the video's temporary recording is gone
    else:
        print(f"recordings: {len(result['bags'])} bag(s) in {ns.record} "
              f"(ros2 bag info {result['bags'][0]})")
    print(f"{result['policy']}: native score {result['mean']:.1f} ± {result['std']:.1f} over "
          f"{ns.episodes} episodes (tracks {ns.seed}..{ns.seed + ns.episodes - 1})")
    if ns.json:   # a record names the command that wrote it and the machine
        result = {"command": command_line("td3_driving.apps.evaluate"),
                  "machine": machine_facts(), **result}
        with open(ns.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
