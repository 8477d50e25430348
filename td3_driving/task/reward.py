"""Lane-keeping reward and episode termination, from the vehicle's pose on its route.

What the reward wants is what CarRacing's score measures: the whole lap, as fast as the car
can drive it, on the road (docs/reward.md derives each term). Every term is bounded, so one
step's reward never exceeds :meth:`RewardConfig.step_bound` and the divergence watchdog
bounds |Q| by ``step_bound() / (1 - gamma)`` from this configuration alone.

- progress: metres gained along the route this step, on the road only, divided by what the
  car's top speed covers in one step; in [-1, 1] x progress_weight. Faster earns more up
  to the top speed, so of two on-road drives the faster one earns the larger discounted
  return. Progress made off the road earns nothing (going backwards still costs).
- center, heading, smoothness: small penalties, each clipped (at most 4, 2 and 2 x weight).
- terminal: -off_road_penalty / -collision_penalty, or +route_complete_bonus for a finished
  route. The bonus is at least progress_weight / (1 - gamma): the most that bootstrapping
  can credit a time-limit truncation with, so finishing the route is never worth less
  than being cut off by the time limit at the same point (:meth:`RewardConfig.check_discount`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from td3_driving.task.config import STALL_SPEED, RewardConfig


@dataclass(frozen=True)
class StepOutcome:
    """What one step earned and whether it ended the episode."""

    reward: float
    terminated: bool
    truncated: bool
    reason: str          # "", "off_road", "collision", "route_complete", "time_limit", "stalled"
    terms: dict


class LaneKeepingReward:
    """Reward and termination for one episode; call ``reset`` at each episode start."""

    def __init__(self, config: RewardConfig):
        self.cfg = config
        self.reset()

    def reset(self) -> None:
        self.steps = 0
        self.off_road_count = 0
        self.stall_count = 0
        self.prev_steer = 0.0

    def step(self, *, progress_m: float, lateral_m: float, heading_error: float,
             steer: float, off_road_event: bool, collision: bool,
             route_complete: bool) -> StepOutcome:
        """Reward for the step that just happened.

        progress_m: metres gained along the route this step; lateral_m: signed offset from
        the centerline; heading_error: radians; steer: the applied steer in [-1, 1];
        off_road_event: a lane invasion onto grass was reported since the last step.
        """
        c = self.cfg
        self.steps += 1
        max_progress = c.target_speed * c.step_seconds
        off_road = off_road_event or abs(lateral_m) > c.road_half_width
        progress = float(np.clip(progress_m / max_progress, -1.0, 1.0))
        if off_road:
            progress = min(progress, 0.0)   # no gain off the road: cutting across grass
        terms = {
            "progress": c.progress_weight * progress,
            "center": -c.center_weight * min((lateral_m / c.road_half_width) ** 2, 4.0),
            "heading": -c.heading_weight * (1.0 - math.cos(heading_error)),
            "smoothness": -c.smoothness_weight * min(abs(steer - self.prev_steer), 2.0),
        }
        self.prev_steer = steer
        self.off_road_count = self.off_road_count + 1 if off_road else 0
        self.stall_count = self.stall_count + 1 \
            if progress_m <= STALL_SPEED * c.step_seconds else 0

        terminated, truncated, reason = False, False, ""
        if collision:
            terminated, reason = True, "collision"
            terms["terminal"] = -c.collision_penalty
        elif route_complete:
            terminated, reason = True, "route_complete"
            terms["terminal"] = c.route_complete_bonus
        elif c.off_road_steps and self.off_road_count >= c.off_road_steps:
            terminated, reason = True, "off_road"
            terms["terminal"] = -c.off_road_penalty
        elif self.steps >= c.max_episode_steps:
            truncated, reason = True, "time_limit"
        elif c.stall_steps and self.stall_count >= c.stall_steps:
            truncated, reason = True, "stalled"
        return StepOutcome(reward=float(sum(terms.values())), terminated=terminated,
                           truncated=truncated, reason=reason, terms=terms)
