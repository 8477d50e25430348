"""The CarRacing car's top speed: full throttle, straight ahead, for whole episodes.

    ./env.sh python -m benchmarks.top_speed [--seeds 3]

Drives the in-process simulator (td3_driving.sim.carracing, 0.08 s ticks) with throttle 1,
steer 0, brake 0 for 1000 frames on each seed's track and prints the largest signed forward
speed reached. reward.target_speed (td3_driving/task/reward.py, config/reward.yaml) is this
figure: Box2D caps any body at 2 m per 0.02 s physics step, i.e. 100 m/s.
"""

from __future__ import annotations

import argparse
import dataclasses

from td3_driving.sim.carracing import CarRacingSim
from td3_driving.sim.config import CarRacingConfig


def top_speed(seed: int, ticks: int = 250) -> float:
    sim = CarRacingSim(dataclasses.replace(CarRacingConfig(), seed=seed), frames_per_tick=4)
    try:
        sim.reset()
        return max(sim.tick(0.0, 1.0, 0.0).state.vx for _ in range(ticks))
    finally:
        sim.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="tracks 0..seeds-1")
    a = ap.parse_args()
    speeds = [top_speed(s) for s in range(a.seeds)]
    for s, v in enumerate(speeds):
        print(f"seed {s}: {v:.2f} m/s")
    print(f"top speed: {max(speeds):.2f} m/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
