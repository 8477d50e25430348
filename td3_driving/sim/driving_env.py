"""The driving task in-process: CarRacingSim + the agents' own loop as a gymnasium environment.

What an agent node sees through the ROS stack, without ROS: the same simulator ticks
(``fixed_delta_seconds`` / 0.02 physics frames each), the same camera image, the same
VehicleState (pose, signed forward speed, applied controls), the same lane-invasion rule
(the car left the road this tick), and the same AgentLoop (td3_driving.task.agent_loop)
that the agent node runs: its DrivingTask builds the Dict observation, reward and episode
end, and its reset protocol starts each episode (a new track, the teleport to the route's
start pose, ``settle_ticks`` frames holding still). The simulator is called in-process where
the node publishes next_track and set_transform. One rule only this environment applies:
an episode also ends (truncated, reason ``sim:<end>``) where the simulator's own episode
ends (lap, playfield, frame limit); in the ROS stack the simulator reports that on
``/sim/<role>/episode_score`` and starts its next episode by itself. It serves the
in-process rows of the benchmarks (our TD3 core without ROS, stable-baselines3 TD3 / SAC
on identical observations) and the ROS-overhead measurement. ``info`` carries the native score
of a finished episode, as the simulator's ``/sim/<role>/episode_score`` does.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np

from td3_driving.core.config import ActionConfig, ObservationConfig
from td3_driving.sim.carracing import CarRacingSim, TickResult
from td3_driving.sim.config import PHYSICS_DT, CarRacingConfig
from td3_driving.task.agent_loop import AgentLoop, Control, EpisodeRecord, SensorFrame, Step
from td3_driving.task.config import AgentConfig, RewardConfig
from td3_driving.task.driving import DRIVING_OBSERVATION, DrivingTask, VehicleState

EVAL_SEED = 1_000_000   # evaluation tracks are disjoint from every training seed schedule
HEADLINE_EPISODES = 100   # tracks of a headline score (CarRacing's "solved" averages 100)
QUICK_EPISODES = 10       # tracks of a quick check and of the scores during training
# The agents' evaluation overrides (td3_driving.apps.evaluate): an evaluation episode ends
# exactly where the simulator's native episode ends (lap complete, playfield left, or 1000
# frames), never earlier by the agent's own rules (docs/benchmarks.md, "Protocol").
EVAL_REWARD = {"off_road_steps": 0, "stall_steps": 0, "max_episode_steps": 250,
               "route_complete_fraction": 0.0}
# A reset takes a few frames (new track, teleport, settle_ticks); more means a broken loop.
_MAX_RESET_FRAMES = 1000


class DrivingEnv(gym.Env):
    """One vehicle on the embedded CarRacing simulator with the agent's observation/reward.

    Observation: ``{"image": uint8 [stack*C, H, W], "vector": float32 [k]}`` as
    ``obs_config.preset`` says (docs/observation.md; no image in "state"); action: float32
    (steer, accel) in [-1, 1].
    ``seed`` is the first track; episode k drives track ``seed + k`` (the sim's schedule).
    ``settle_ticks``: as the agents' parameter (config/train.yaml sets 0 for this simulator).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, seed: int = 0, *, obs_config: ObservationConfig = DRIVING_OBSERVATION,
                 reward_config: RewardConfig | None = None,
                 action_config: ActionConfig | None = None,
                 fixed_delta_seconds: float = 0.08, waypoint_spacing_m: float = 1.0,
                 evaluation: bool = False, sim_config: CarRacingConfig | None = None,
                 settle_ticks: int = 0, render_mode: str | None = None):
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
        agent_cfg = AgentConfig(mode="drive" if evaluation else "train",
                                settle_ticks=settle_ticks)
        self.loop = AgentLoop(agent_cfg, self.task, self.action_config, self, "driving_env",
                              training=False)
        self.spacing = waypoint_spacing_m
        self.frames_per_step = frames
        self.dt_ns = round(fixed_delta_seconds * 1e9)
        self.last_frame: np.ndarray | None = None   # newest preprocessed frame [C, H, W]
        self.last_tick = None   # the simulator's newest TickResult (camera image, state)
        spaces = {"vector": gym.spaces.Box(-np.inf, np.inf, (obs_config.vector_size,),
                                           np.float32)}
        if obs_config.image:   # not in the "state" preset
            spaces["image"] = gym.spaces.Box(0, 255, obs_config.image_shape, np.uint8)
        self.observation_space = gym.spaces.Dict(spaces)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._frame_index = 0
        self._applied = (0.0, 0.0, 0.0)   # the command the simulator holds (float32 values)
        self._track_requested = False
        self._teleport: tuple[float, float, float] | None = None
        self._step: Step | None = None
        self._record: EpisodeRecord | None = None

    # --- AgentOutputs: the simulator in-process where the node publishes ----------------
    def control(self, c: Control) -> None:
        self._applied = (c.steer, c.throttle, c.brake)

    def can_request_track(self) -> bool:
        return True

    def request_track(self) -> None:
        self._track_requested = True

    def teleport(self, x: float, y: float, yaw: float) -> None:
        self._teleport = (x, y, yaw)

    def pause(self, paused: bool) -> None:
        pass   # no learner to wait for

    def episode_end(self, record: EpisodeRecord) -> None:
        self._record = record

    def experience(self, batch) -> str:
        return ""   # never called: the loop records no experience here (training=False)

    def log(self, level: str, cause: str, text: str) -> None:
        pass

    # --- the simulator's tick, as sim_bridge runs it -------------------------------------
    def _tick(self) -> SensorFrame:
        """The next frame: a requested track or teleport takes effect at this tick."""
        if self._track_requested:
            self._track_requested, self._teleport = False, None
            result = self.sim.reset()
            self._applied = (0.0, 0.0, 0.0)
            self.loop.set_route(self.sim.route().resampled(self.spacing)[:, :2])
        elif self._teleport is not None:
            result, self._teleport = self.sim.teleport(*self._teleport), None
        else:
            result = self.sim.tick(*self._applied)
        self.last_tick = result
        self._frame_index += 1
        return self._sensor_frame(result)

    def _sensor_frame(self, result: TickResult) -> SensorFrame:
        s = result.state
        return SensorFrame(self._frame_index * self.dt_ns, result.image,
                           VehicleState(s.x, s.y, s.yaw, s.vx, *self._applied,
                                        yaw_rate=s.yaw_rate),
                           off_road_event=result.left_track, sim_end=result.end_reason)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:   # restart the track schedule at this seed
            self.sim.restart_schedule(seed)
        self.loop.restart()
        for _ in range(_MAX_RESET_FRAMES):
            step = self.loop.on_frame(self._tick())
            if step is not None:
                break
        else:
            raise RuntimeError(f"DrivingEnv.reset: no episode began in {_MAX_RESET_FRAMES} "
                               "frames")
        self._step, self._record, self.last_frame = step, None, step.observation.frame
        return step.observation.as_dict(), {"track_seed": self.sim.seed}

    def step(self, action):
        if self._step is None or self._step.done:
            raise RuntimeError("DrivingEnv.step before reset() or after the episode ended")
        self.loop.answer(np.asarray(action, np.float32))
        step = self.loop.on_frame(self._tick())
        if step is None:   # only backpressure or a bad frame are answered without a step
            raise RuntimeError("DrivingEnv.step: the agent loop skipped a running frame")
        self._step, self.last_frame = step, step.observation.frame
        outcome = step.outcome
        # the applied control and the reward's terms, for recordings and diagnostics
        info = {"control": self._applied, "reward_terms": dict(outcome.terms)}
        if step.done:
            summary = self.sim.summary()
            info |= {"native_score": summary.native_score, "frames": summary.frames,
                    # every record's meaning: the simulator's fraction of track tiles
                    # visited (the ROS path's /sim/<role>/episode_score says the same)
                    "route_completion": summary.route_completion,
                    "reason": outcome.reason, "episode_return": self._record.episode_return,
                    "track_seed": summary.seed}
        return (step.observation.as_dict(), float(outcome.reward), bool(outcome.terminated),
                bool(outcome.truncated), info)

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


def evaluate_in_process(act, episodes: int = 10, seed: int = EVAL_SEED,
                        on_episode=None, recorder=None, **env_kwargs) -> dict:
    """The benchmark protocol without ROS: ``act(obs) -> action``, no exploration noise.

    Tracks ``seed .. seed + episodes - 1``, episodes ending where the simulator's native
    episode ends (its 1000-frame limit, lap or playfield end), the simulator's native score
    and tile fraction (route_completion) per episode; the same protocol as
    td3_driving.apps.evaluate runs through the ROS stack. ``recorder(env)``, if given,
    makes a td3_driving.ros.episode_bag.EpisodeRecorder (or anything with its methods):
    every episode is then recorded, its row gains the episode's return and the result
    lists the recordings under "bags".
    """
    env = DrivingEnv(seed, evaluation=True, **env_kwargs)
    rec = recorder(env) if recorder is not None else _NotRecorded()
    results: list[dict] = []
    try:
        obs, info = env.reset(seed=seed)
        rec.begin(obs, info["track_seed"])
        while len(results) < episodes:
            action = act(obs)
            rec.action(obs, action)
            obs, reward, terminated, truncated, info = env.step(action)
            rec.step(obs, reward, info)
            if terminated or truncated:
                recorded = rec.end(info, len(results))
                results.append({"track_seed": info["track_seed"],
                                "native_score": info["native_score"],
                                "route_completion": info["route_completion"],
                                "frames": info["frames"], "reason": info["reason"],
                                **({"return": recorded["return"]} if recorded else {})})
                if on_episode is not None:   # (episodes done, last score): progress
                    on_episode(len(results), info["native_score"])
                if len(results) < episodes:
                    obs, info = env.reset()
                    rec.begin(obs, info["track_seed"])
    finally:
        rec.close()
        env.close()
    scores = [r["native_score"] for r in results]
    result = {"seeds": [seed, seed + episodes - 1], "episodes": results,
              "mean": float(np.mean(scores)), "std": float(np.std(scores))}
    if recorder is not None:
        result["bags"] = [str(p) for p in rec.paths]
    return result


class _NotRecorded:
    """evaluate_in_process's recorder when nothing is recorded."""

    paths: list = []

    def begin(self, obs, track_seed) -> None: ...

    def action(self, obs, action) -> None: ...

    def step(self, obs, reward, info) -> None: ...

    def end(self, info, episode_id) -> dict:
        return {}

    def close(self) -> None: ...
