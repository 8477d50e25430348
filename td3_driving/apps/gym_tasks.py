"""The gym trainer's tasks: Pendulum-v1, CarRacing-v3 from pixels, and the driving task.

Each task turns its environment into what an agent node produces (a camera frame and a
vehicle vector per step, the native score per episode); :class:`Episode` stacks the frames
as an agent does.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from td3_driving.apps.config import TrainerConfig
from td3_driving.core.actions import to_box, to_vehicle_control
from td3_driving.core.config import LearnerConfig
from td3_driving.learner.intake import reward_step_bound
from td3_driving.task.observation import FrameStack, normalize_vector, preprocess_frame

HUD_ROWS = 12   # CarRacing's 96x96 frames end in a 12-row HUD strip: not camera image


class PendulumTask:
    """Pendulum-v1: vector = (cos, sin, angular velocity / 8), torque = 2 * action."""

    # reward = -(theta^2 + 0.1 theta_dot^2 + 0.001 u^2), |theta| <= pi, |theta_dot| <= 8, |u| <= 2
    reward_bound = math.pi**2 + 0.1 * 8.0**2 + 0.001 * 2.0**2

    def __init__(self, trainer: TrainerConfig, obs_cfg, seed: int) -> None:
        self.env, self.obs_cfg = gym.make("Pendulum-v1"), obs_cfg
        self.env.reset(seed=seed)
        space = self.env.action_space
        assert isinstance(space, gym.spaces.Box)   # Pendulum-v1's torque
        self.low, self.high = space.low, space.high

    def reset(self):
        state, _ = self.env.reset()
        return None, normalize_vector(state, self.obs_cfg)

    def step(self, action):
        state, reward, term, trunc, _ = self.env.step(to_box(action, self.low, self.high))
        return None, normalize_vector(state, self.obs_cfg), float(reward), term, trunc

    def episode_info(self, total_return: float) -> dict:
        return {"score": total_return}


class CarRacingTask:
    """CarRacing-v3: HUD-free frame, vector = (speed, yaw rate, front wheel angle)."""

    def __init__(self, trainer: TrainerConfig, obs_cfg, action_cfg, seed: int) -> None:
        self.env = gym.make("CarRacing-v3", continuous=True)
        self.env.reset(seed=seed)
        self.obs_cfg, self.action_cfg, self.repeat = obs_cfg, action_cfg, trainer.action_repeat
        # per frame -0.1; the track's tiles pay 1000 in all, once each; leaving the
        # playfield -100 (terminal): no decision of `repeat` frames earns more than this
        self.reward_bound = 1000.0 + 100.0 + 0.1 * trainer.action_repeat

    def _observe(self, pixels: np.ndarray):
        car = self.env.unwrapped.car  # type: ignore[attr-defined]  # CarRacing's own field
        raw = [np.hypot(*car.hull.linearVelocity), car.hull.angularVelocity,
               car.wheels[0].joint.angle]
        return (preprocess_frame(pixels[:-HUD_ROWS], self.obs_cfg),
                normalize_vector(raw, self.obs_cfg))

    def reset(self):
        pixels, _ = self.env.reset()
        return self._observe(pixels)

    def step(self, action):
        control = np.array(to_vehicle_control(action, self.action_cfg), np.float32)
        total, term, trunc = 0.0, False, False
        for _ in range(self.repeat):
            pixels, reward, term, trunc, _ = self.env.step(control)
            total += float(reward)
            if term or trunc:
                break
        return (*self._observe(pixels), total, term, trunc)

    def episode_info(self, total_return: float) -> dict:
        return {"score": total_return}


class DrivingRoadTask:
    """The agents' task on the embedded simulator (td3_driving.sim.driving_env.DrivingEnv).

    Rewards are the agents' own (config/reward.yaml defaults); scores are native.
    """

    def __init__(self, cfg: LearnerConfig, seed: int, evaluation: bool = False) -> None:
        from td3_driving.sim.driving_env import DrivingEnv
        self.env = DrivingEnv(seed, obs_config=cfg.observation, action_config=cfg.action,
                              evaluation=evaluation)
        # refuses a reward under which finishing pays less than the time limit
        self.reward_bound = reward_step_bound(self.env.task.reward.cfg, cfg.td3.gamma)
        self.first_seed = seed
        self.info: dict[str, Any] = {}
        self._restart_at: int | None = None

    def restart(self) -> None:
        """Start the track schedule over (evaluations drive the same tracks each time)."""
        self._restart_at = self.first_seed

    def reset(self):
        obs, _ = self.env.reset(seed=self._restart_at)
        self._restart_at = None
        return self.env.last_frame, obs["vector"]

    def step(self, action):
        obs, reward, term, trunc, self.info = self.env.step(action)
        return self.env.last_frame, obs["vector"], reward, term, trunc

    def episode_info(self, total_return: float) -> dict:
        return {"score": self.info["native_score"], "frames": self.info["frames"],
                "route_completion": self.info["route_completion"]}


def make_task(trainer: TrainerConfig, cfg: LearnerConfig, seed: int, evaluation: bool = False):
    if trainer.env == "pendulum":
        return PendulumTask(trainer, cfg.observation, seed)
    if trainer.env == "driving":   # tracks as the ROS stack's first vehicle: seed * 1000
        return DrivingRoadTask(cfg, seed if evaluation else seed * 1000, evaluation)
    return CarRacingTask(trainer, cfg.observation, cfg.action, seed)


class Episode:
    """Frame stacking for one task instance, as an agent node does it."""

    def __init__(self, task, cfg: LearnerConfig) -> None:
        self.task = task
        self.stack = FrameStack(cfg.observation) if cfg.observation.image else None

    def _obs(self, frame, vector, reset: bool) -> dict:
        obs = {"vector": vector}
        if self.stack is not None:
            obs["image"] = self.stack.reset(frame) if reset else self.stack.push(frame)
        return obs

    def reset(self):
        frame, vector = self.task.reset()
        return frame, vector, self._obs(frame, vector, True)

    def step(self, action):
        frame, vector, reward, term, trunc = self.task.step(action)
        return frame, vector, self._obs(frame, vector, False), reward, term, trunc
