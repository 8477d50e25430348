"""The driving task in-process: CarRacingSim + DrivingTask as a gymnasium environment.

What an agent node sees through the ROS stack, without ROS: the same simulator ticks
(``fixed_delta_seconds`` / 0.02 physics frames each), the same camera image, the same
VehicleState (pose, signed forward speed, applied controls), the same lane-invasion rule
(the car left the road this tick), and the same ROS-free DrivingTask for the Dict
observation, reward and episode end. It serves the in-process rows of the benchmarks
(our TD3 core without ROS, stable-baselines3 TD3 / SAC on identical observations) and the
ROS-overhead measurement.

Differences from the ROS stack, all on episode boundaries: an episode also ends when the
simulator's own episode ends (CarRacing's frame limit, lap, or leaving the playfield), as
truncation unless the task terminated it; the next episode starts at once (the stack's
reset round trip takes one tick). ``info`` carries the native score of a finished
episode, as the simulator's ``/sim/<role>/episode_score`` does.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np

from td3_driving.core.actions import to_vehicle_control
from td3_driving.core.config import ActionConfig, ObservationConfig
from td3_driving.sim.carracing import CarRacingSim, resample_closed
from td3_driving.sim.config import PHYSICS_DT, CarRacingConfig
from td3_driving.task.driving import DRIVING_OBSERVATION, DrivingTask, VehicleState
from td3_driving.task.reward import RewardConfig

EVAL_SEED = 1_000_000   # evaluation tracks are disjoint from every training seed schedule
HEADLINE_EPISODES = 100   # tracks of a headline score (CarRacing's "solved" averages 100)
QUICK_EPISODES = 10       # tracks of a quick check and of the scores during training
# The agents' evaluation overrides (td3_driving.apps.evaluate): an evaluation episode ends
# exactly where the simulator's native episode ends (lap complete, playfield left, or 1000
# frames), never earlier by the agent's own rules (docs/benchmarks.md, "Protocol").
EVAL_REWARD = {"off_road_steps": 0, "stall_steps": 0, "max_episode_steps": 250,
               "route_complete_fraction": 0.0}


class DrivingEnv(gym.Env):
    """One vehicle on the embedded CarRacing simulator with the agent's observation/reward.

    Observation: ``{"image": uint8 [stack*C, H, W], "vector": float32 [k]}`` as
    ``obs_config.preset`` says (docs/observation.md; no image in "state"); action: float32
    (steer, accel) in [-1, 1].
    ``seed`` is the first track; episode k drives track ``seed + k`` (the sim's schedule).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, seed: int = 0, *, obs_config: ObservationConfig = DRIVING_OBSERVATION,
                 reward_config: RewardConfig | None = None,
                 action_config: ActionConfig | None = None,
                 fixed_delta_seconds: float = 0.08, waypoint_spacing_m: float = 1.0,
                 evaluation: bool = False, sim_config: CarRacingConfig | None = None,
                 render_mode: str | None = None):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r}: only 'rgb_array' (the camera "
                             "image) is supported")
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": 1.0 / fixed_delta_seconds}
        reward_config = reward_config or RewardConfig()
        if evaluation:
            reward_config = dataclasses.replace(reward_config, **EVAL_REWARD)
        frames = round(fixed_delta_seconds / PHYSICS_DT)
        if frames < 1 or abs(frames * PHYSICS_DT - fixed_delta_seconds) > 1e-9:
            raise ValueError(f"fixed_delta_seconds={fixed_delta_seconds} is not a positive "
                             f"multiple of the physics step {PHYSICS_DT} s")
        if abs(reward_config.step_seconds - fixed_delta_seconds) > 1e-9:
            raise ValueError(f"reward.step_seconds={reward_config.step_seconds} must equal "
                             f"fixed_delta_seconds={fixed_delta_seconds}")
        cfg = dataclasses.replace(sim_config or CarRacingConfig(), seed=seed)
        self.sim = CarRacingSim(cfg, frames_per_tick=frames)
        self.task = DrivingTask(obs_config, reward_config)
        self.action_config = action_config or ActionConfig()
        self.spacing = waypoint_spacing_m
        self.frames_per_step = frames
        self.last_frame: np.ndarray | None = None   # newest preprocessed frame [C, H, W]
        self.last_tick = None   # the simulator's newest TickResult (camera image, state)
        spaces = {"vector": gym.spaces.Box(-np.inf, np.inf, (obs_config.vector_size,),
                                           np.float32)}
        if obs_config.image:   # not in the "state" preset
            spaces["image"] = gym.spaces.Box(0, 255, obs_config.image_shape, np.uint8)
        self.observation_space = gym.spaces.Dict(spaces)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._episode_return = 0.0

    @staticmethod
    def _state(result, control: tuple[float, float, float]) -> VehicleState:
        s = result.state
        return VehicleState(s.x, s.y, s.yaw, s.vx, *control, yaw_rate=s.yaw_rate)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:   # restart the track schedule at this seed
            self.sim.restart_schedule(seed)
        result = self.last_tick = self.sim.reset()
        self.task.set_route(resample_closed(self.sim.centerline(), self.spacing)[:, :2])
        obs = self.task.begin(result.image, self._state(result, (0.0, 0.0, 0.0)))
        self.last_frame, self._episode_return = obs.frame, 0.0
        return obs.as_dict(), {"track_seed": self.sim.seed}

    def step(self, action):
        # CarlaEgoVehicleControl carries float32: the simulator node applies these values.
        control = tuple(float(np.float32(c)) for c in
                        to_vehicle_control(np.asarray(action, np.float32), self.action_config))
        result = self.last_tick = self.sim.tick(*control)
        obs, outcome = self.task.step(result.image, self._state(result, control),
                                      off_road_event=result.left_track, collision=False)
        self.last_frame = obs.frame
        self._episode_return += outcome.reward
        terminated = outcome.terminated
        truncated = not terminated and (outcome.truncated or bool(result.end_reason))
        # the applied control and the reward's terms, for recordings and diagnostics
        info = {"control": control, "reward_terms": dict(outcome.terms)}
        if terminated or truncated:
            summary = self.sim.summary()
            info |= {"native_score": summary.native_score, "frames": summary.frames,
                     # every record's meaning: the simulator's fraction of track tiles
                     # visited (the ROS path's /sim/<role>/episode_score says the same)
                     "route_completion": summary.route_completion,
                     "reason": outcome.reason or f"sim:{result.end_reason}",
                     "episode_return": self._episode_return, "track_seed": summary.seed}
        return obs.as_dict(), float(outcome.reward), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """The newest camera image, uint8 (H, W, 3) RGB (render_mode "rgb_array")."""
        if self.render_mode != "rgb_array" or self.last_tick is None:
            return None
        return self.last_tick.image

    def native_score(self) -> float:
        """The simulator's score of the current episode so far."""
        return self.sim.summary().native_score

    def close(self) -> None:
        self.sim.close()


def evaluate_in_process(act, episodes: int = 10, seed: int = EVAL_SEED, **env_kwargs) -> dict:
    """The benchmark protocol without ROS: ``act(obs) -> action``, no exploration noise.

    Tracks ``seed .. seed + episodes - 1``, episodes ending where the simulator's native
    episode ends (its 1000-frame limit, lap or playfield end), the simulator's native score
    and tile fraction (route_completion) per episode; the same protocol as
    td3_driving.apps.evaluate runs through the ROS stack.
    """
    env = DrivingEnv(seed, evaluation=True, **env_kwargs)
    results = []
    try:
        obs, _ = env.reset(seed=seed)
        while len(results) < episodes:
            obs, _, terminated, truncated, info = env.step(act(obs))
            if terminated or truncated:
                results.append({"track_seed": info["track_seed"],
                                "native_score": info["native_score"],
                                "route_completion": info["route_completion"],
                                "frames": info["frames"], "reason": info["reason"]})
                obs, _ = env.reset()
    finally:
        env.close()
    scores = [r["native_score"] for r in results]
    return {"seeds": [seed, seed + episodes - 1], "episodes": results,
            "mean": float(np.mean(scores)), "std": float(np.std(scores))}
