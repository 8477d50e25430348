"""Lane-keeping reward and episode termination, from the vehicle's pose on its route.

Every term is scaled so that one step's reward stays within about [-1, 1] and a terminal
penalty is a few steps' worth: then |Q| <= r_max / (1 - gamma) holds and the divergence
watchdog has a meaningful bound (the system this replaces fed rewards of 2.7..550 unscaled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from td3_driving.core.config_base import param


@dataclass(frozen=True)
class RewardConfig:
    """Weights of the reward terms and the episode limits (config/reward.yaml overrides)."""

    progress_weight: float = param(1.0, "Reward for driving along the route at target_speed "
                                        "for one step (scales linearly with metres gained).",
                                   low=0.0, high=10.0)
    target_speed: float = param(25.0, "Speed (m/s) at which progress earns progress_weight per "
                                      "step; faster earns no more.", low=0.1, high=100.0)
    center_weight: float = param(0.3, "Penalty at the road edge for distance from the "
                                      "centerline, quadratic in lateral/road_half_width.",
                                 low=0.0, high=10.0)
    heading_weight: float = param(0.2, "Penalty for heading error, times 1 - cos(error).",
                                  low=0.0, high=10.0)
    smoothness_weight: float = param(0.05, "Penalty per unit change of steer between steps.",
                                     low=0.0, high=10.0)
    road_half_width: float = param(6.7, "Half width of the road, metres (CarRacing: 40/6).",
                                   low=0.1, high=100.0)
    off_road_penalty: float = param(5.0, "Terminal penalty when the episode ends off the road.",
                                    low=0.0, high=100.0)
    collision_penalty: float = param(5.0, "Terminal penalty on a collision event.", low=0.0,
                                     high=100.0)
    route_complete_bonus: float = param(5.0, "Terminal bonus when the route or lap is done.",
                                        low=0.0, high=100.0)
    off_road_steps: int = param(10, "Consecutive steps off the road (lane invasion onto grass "
                                    "or |lateral| > road_half_width) that terminate the "
                                    "episode; 0 = never terminate for leaving the road.", low=0)
    max_episode_steps: int = param(250, "Steps after which the episode is truncated "
                                        "(250 x 0.08 s = CarRacing's 1000 frames).", low=1)
    stall_steps: int = param(50, "Truncate after this many consecutive steps without "
                                 "progress (0 = never).", low=0)
    step_seconds: float = param(0.08, "Seconds per agent step (the simulator tick).",
                                low=0.001, high=10.0)

    @property
    def reward_abs_max(self) -> float:
        """Largest |reward| of any single step: bounds Q by reward_abs_max / (1 - gamma)."""
        step = self.progress_weight + self.center_weight * 4 + self.heading_weight * 2 \
            + self.smoothness_weight * 2
        terminal = max(self.off_road_penalty, self.collision_penalty, self.route_complete_bonus)
        return step + terminal


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
        terms = {
            "progress": c.progress_weight * float(np.clip(progress_m / max_progress, -1.0, 1.0)),
            "center": -c.center_weight * min((lateral_m / c.road_half_width) ** 2, 4.0),
            "heading": -c.heading_weight * (1.0 - math.cos(heading_error)),
            "smoothness": -c.smoothness_weight * abs(steer - self.prev_steer),
        }
        self.prev_steer = steer
        off_road = off_road_event or abs(lateral_m) > c.road_half_width
        self.off_road_count = self.off_road_count + 1 if off_road else 0
        self.stall_count = self.stall_count + 1 if progress_m <= 0.01 * max_progress else 0

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
