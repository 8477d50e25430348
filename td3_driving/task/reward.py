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

from td3_driving.core.config_base import param

# Box2D moves a body at most b2_maxTranslation = 2 m per 0.02 s physics step, so no CarRacing
# car exceeds 100 m/s; full throttle on a straight reaches it (benchmarks/top_speed.py prints
# the measured top speed: 99.98 m/s).
CARRACING_TOP_SPEED = 100.0
# Below this speed along the route (m/s) a step counts as no progress for stall_steps.
STALL_SPEED = 0.25


@dataclass(frozen=True)
class RewardConfig:
    """Weights of the reward terms and the episode limits (config/reward.yaml overrides)."""

    progress_weight: float = param(1.0, "Reward of one step of progress along the route at "
                                        "target_speed, on the road (scales linearly with the "
                                        "metres gained; nothing off the road).",
                                   low=0.0, high=10.0)
    target_speed: float = param(CARRACING_TOP_SPEED,
                                "The car's top speed (m/s): progress at this speed earns "
                                "progress_weight per step, so faster always earns more. "
                                "CarRacing: 100 (benchmarks/top_speed.py).", low=0.1, high=100.0)
    center_weight: float = param(0.3, "Penalty at the road edge for distance from the "
                                      "centerline, quadratic in lateral/road_half_width "
                                      "(clipped at 4 x weight).", low=0.0, high=10.0)
    heading_weight: float = param(0.2, "Penalty for heading error, times 1 - cos(error) "
                                       "(at most 2 x weight).", low=0.0, high=10.0)
    smoothness_weight: float = param(0.05, "Penalty per unit change of steer between steps "
                                           "(at most 2 x weight).", low=0.0, high=10.0)
    road_half_width: float = param(6.7, "Half width of the road, metres (CarRacing: 40/6).",
                                   low=0.1, high=100.0)
    off_road_penalty: float = param(5.0, "Terminal penalty when the episode ends off the road.",
                                    low=0.0, high=100.0)
    collision_penalty: float = param(5.0, "Terminal penalty on a collision event.", low=0.0,
                                     high=100.0)
    route_complete_bonus: float = param(
        100.0, "Terminal bonus for finishing the route; must be at least progress_weight / "
               "(1 - td3.gamma) (100 at gamma 0.99), what a time-limit truncation can "
               "bootstrap, so that finishing never earns less than being cut off.",
        low=0.0, high=100_000.0)
    route_complete_fraction: float = param(
        0.98, "Fraction of the route's length driven along it that finishes the route "
              "(terminated, with the bonus); 0 = never (evaluation: the simulator's own "
              "lap or frame limit ends the episode).", low=0.0, high=1.0)
    off_road_steps: int = param(10, "Consecutive steps off the road (lane invasion onto grass "
                                    "or |lateral| > road_half_width) that terminate the "
                                    "episode; 0 = never terminate for leaving the road.", low=0)
    max_episode_steps: int = param(250, "Steps after which the episode is truncated "
                                        "(250 x 0.08 s = CarRacing's 1000 frames).", low=1)
    stall_steps: int = param(50, "Truncate after this many consecutive steps without "
                                 "progress (under 0.25 m/s along the route; 0 = never).",
                             low=0)
    step_seconds: float = param(0.08, "Seconds per agent step (the simulator tick).",
                                low=0.001, high=10.0)

    def step_bound(self) -> float:
        """Largest |reward| of any single step, which bounds |Q| by it / (1 - gamma).

        The best step is full progress plus the completion bonus; the worst is full
        backward progress, every clipped penalty and the larger terminal penalty.
        """
        best = self.progress_weight + self.route_complete_bonus
        worst = (self.progress_weight + 4 * self.center_weight + 2 * self.heading_weight
                 + 2 * self.smoothness_weight + max(self.off_road_penalty,
                                                    self.collision_penalty))
        return max(best, worst)

    def min_complete_bonus(self, gamma: float) -> float:
        """The completion bonus at which finishing equals the best bootstrapped truncation."""
        return self.progress_weight / (1.0 - gamma)

    def check_discount(self, gamma: float) -> None:
        """Raise ValueError if, with discount ``gamma``, finishing can earn less than a
        time-limit truncation at the same point (whose bootstrap is at most
        progress_weight / (1 - gamma)).
        """
        need = self.min_complete_bonus(gamma)
        if self.route_complete_bonus < need * (1.0 - 1e-9):
            raise ValueError(
                f"reward.route_complete_bonus={self.route_complete_bonus:g} is below "
                f"progress_weight / (1 - gamma) = {need:g} (gamma {gamma:g}): a policy would "
                f"rather be cut off by the time limit than finish the route; set "
                f"reward.route_complete_bonus >= {need:g}")


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
