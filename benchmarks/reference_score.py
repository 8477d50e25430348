"""The reference controller's native CarRacing score over fixed seeds, through the ROS topics.

    ./env.sh python -m benchmarks.reference_score [--episodes 10 | --headline]
        [--seed 1000000] [--out FILE]

Starts sim_bridge (episode k drives the track of seed + k) and reference_controller as
separate processes in lockstep, reads each episode's EpisodeStats from
/sim/ego_vehicle/episode_score, prints one row per episode and mean ± std of the native
score: the first row of the benchmark table. Writes the same as JSON. The protocol is the
learned rows' (td3_driving.apps.evaluate): the evaluation tracks from 1,000,000 (100 with
--headline), each episode ending where the simulator's native episode ends (the controller
never resets it), route_completion = the simulator's fraction of track tiles visited.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    ROOT,
    command_line,
    private_ros_domain,
    spin_until,
    start_node,
    stop,
)
from td3_driving.apps.facts import machine_facts
from td3_driving.sim.driving_env import EVAL_SEED, HEADLINE_EPISODES, QUICK_EPISODES

REASONS = {0: "unknown", 1: "off_road", 2: "collision", 3: "route_complete",
           4: "time_limit", 5: "stalled", 6: "sim_reset", 7: "shutdown"}


def collect(episodes: int, seed: int, timeout_s: float) -> list[dict]:
    import rclpy

    from td3_driving.msg import EpisodeStats
    from td3_driving.ros import qos

    # The simulator waits for a controller before its first tick; start the controller only
    # once this node is connected to the score topic, so that episode 0 is not missed.
    lockstep = {"synchronous_mode_wait_for_vehicle_control_command": True}
    procs = [start_node("sim_bridge", {"carracing.seed": seed, **lockstep})]
    rclpy.init()
    node = rclpy.create_node("reference_score")
    rows: list[dict] = []

    def on_stats(m: EpisodeStats) -> None:
        rows.append({"episode": int(m.episode_id), "seed": seed + int(m.episode_id),
                     "native_score": float(m.native_score),
                     "route_completion": float(m.route_completion),
                     "ticks": int(m.length), "sim_time_s": float(m.sim_time),
                     "termination": REASONS.get(m.termination_reason, "?")})
        r = rows[-1]
        print(f"seed {r['seed']:4d}  score {r['native_score']:7.1f}  route "
              f"{100 * r['route_completion']:5.1f} %  {r['ticks']:4d} ticks  "
              f"{r['termination']}", flush=True)

    node.create_subscription(EpisodeStats, "/sim/ego_vehicle/episode_score", on_stats,
                             qos.STATS)
    try:
        deadline = time.monotonic() + timeout_s
        while not node.count_publishers("/sim/ego_vehicle/episode_score") \
                and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.2)
        procs.append(start_node("reference_controller", {}))
        spin_until(node, procs, lambda: len(rows) >= episodes, deadline)
    finally:
        node.destroy_node()
        rclpy.shutdown()
        stop(procs)
    if len(rows) < episodes:
        raise RuntimeError(f"only {len(rows)} of {episodes} episodes within {timeout_s} s")
    return rows[:episodes]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=QUICK_EPISODES, help="episodes = seeds")
    ap.add_argument("--headline", action="store_true",
                    help=f"{HEADLINE_EPISODES} episodes: the protocol of a headline score")
    ap.add_argument("--seed", type=int, default=EVAL_SEED, help="first seed")
    ap.add_argument("--timeout", type=float, default=None,
                    help="wall seconds in all (default: 90 per episode, at least 900)")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "reference_score.json")
    a = ap.parse_args()
    private_ros_domain()
    if a.headline:
        a.episodes = HEADLINE_EPISODES
    rows = collect(a.episodes, a.seed, a.timeout or max(900.0, 90.0 * a.episodes))
    scores = np.array([r["native_score"] for r in rows])
    laps = sum(r["termination"] == "route_complete" for r in rows)
    summary = {"command": command_line(), "machine": machine_facts(),
               "controller": "reference_controller (pure pursuit + speed PID)",
               "simulator": "sim_bridge / CarRacing-v3, 0.08 s ticks, lockstep over ROS 2",
               "seeds": [r["seed"] for r in rows], "native_score_mean": float(scores.mean()),
               "native_score_std": float(scores.std(ddof=1)), "laps_completed": laps,
               "episodes": rows}
    print(f"native score over seeds {a.seed}..{a.seed + a.episodes - 1}: "
          f"{scores.mean():.1f} ± {scores.std(ddof=1):.1f} (laps completed {laps}/{len(rows)})")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
