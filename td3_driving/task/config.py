"""Configuration of the driving task: the agent's own settings and the reward's terms.

The package's rule (docs/architecture.md): a configuration dataclass lives in the
``config.py`` of the package whose code reads it; the agent loop and the reward read these.
"""

from __future__ import annotations

from dataclasses import dataclass

from td3_driving.core.config import TD3Config
from td3_driving.core.config_base import param

# Box2D moves a body at most b2_maxTranslation = 2 m per 0.02 s physics step, so no CarRacing
# car exceeds 100 m/s; full throttle on a straight reaches it (benchmarks/top_speed.py prints
# the measured top speed: 99.98 m/s).
CARRACING_TOP_SPEED = 100.0
# Below this speed along the route (m/s) a step counts as no progress for stall_steps.
STALL_SPEED = 0.25


@dataclass(frozen=True)
class AgentConfig:
    """The agent node's own settings (observation/action/reward configs are separate)."""

    role_name: str = param("ego_vehicle", "Vehicle to drive: topics /carla/<role_name>/...")
    mode: str = param("train", "'train': explore and publish experience for the learner; "
                               "'drive': act deterministically with policy_file, no "
                               "experience.", choices=("train", "drive"))
    policy_file: str = param("", "Policy artifact (.safetensors) to drive with; required in "
                                 "'drive' mode, optional start weights in 'train' mode.")
    seed: int = param(0, "Seed of the exploration noise and warm-up actions.", low=0)
    exploration_noise: float = param(TD3Config().exploration_noise,
                                     "Std of the Gaussian noise added to the actor's action "
                                     "(network space [-1, 1]) in 'train' mode.",
                                     low=0.0, high=10.0)
    batch_steps: int = param(32, "Steps per experience message on the replay topic "
                                 "(16-64: docs/architecture.md).", low=1, high=1024)
    settle_ticks: int = param(2, "Frames to hold still after the reset teleport before the "
                                 "new episode starts (CARLA needs a few; the embedded "
                                 "simulator none).", low=0, high=1000)
    pause_when_throttled: bool = param(True, "While the learner's backpressure holds the "
                                             "agent, PAUSE the simulator via /carla/control "
                                             "(and PLAY after), so it does not tick on "
                                             "without a command.")
    learner_timeout_s: float = param(5.0, "A learner status older than this (wall seconds) "
                                          "is ignored: agents keep driving without a learner.",
                                     low=0.1, high=3600.0)
    max_stamp_ahead_s: float = param(10.0, "A frame part stamped more than this (sim "
                                           "seconds) after the newest frame takes no "
                                           "pending slot; it is used only if its whole "
                                           "frame arrives.", low=0.001, high=1e6)
    torch_threads: int = param(1, "torch threads for acting.", low=1, high=64)
    publish_debug: bool = param(True, "Offer ~/observation (the processed frame as an "
                                      "Image), ~/action, ~/reward and ~/status_marker for "
                                      "rviz2; each is built only while someone subscribes.")


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
