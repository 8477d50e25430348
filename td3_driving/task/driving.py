"""One vehicle's driving task: frames + vehicle state -> observation, reward, episode end.

The agent node feeds it one simulator frame at a time; everything here is ROS-free so that
the same observation and reward code is unit-tested and reused in-process (DrivingEnv).

What the networks see is chosen by ``observation.preset`` (docs/observation.md): "route"
(camera + the route vector below), "camera" (camera + speed, controls, yaw rate) or "state"
(the route vector, no image). The reward and the episode's end always use the route, in
every preset: a "camera" policy never sees the route, but its reward is still measured
along it. The route vector, raw units:
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from td3_driving.core.config import (
    OBSERVATION_PRESETS,
    ROUTE_VECTOR,
    LearnerConfig,
    ObservationConfig,
)
from td3_driving.task.config import RewardConfig
from td3_driving.task.observation import (
    FrameStack,
    empty_frame,
    normalize_vector,
    preprocess_frame,
)
from td3_driving.task.reward import LaneKeepingReward, StepOutcome
from td3_driving.task.route import Route, RoutePose

VECTOR_FIELDS = ROUTE_VECTOR   # the "route" preset's vehicle vector
__doc__ += "".join(f"\n  {i}. {n}: {u} (scale {s})" for i, (n, u, s) in enumerate(VECTOR_FIELDS))
VECTOR_SIZE = len(VECTOR_FIELDS)
DEFAULT_VECTOR_SCALE = tuple(s for _, _, s in VECTOR_FIELDS)
DEFAULT_PRESET = "route"
# The observation defaults of the driving task: agents and the learner declare these as
# their observation.* parameter defaults, so both sides agree unless a params file says
# otherwise (and then it says so for both).
DRIVING_OBSERVATION = ObservationConfig(preset=DEFAULT_PRESET)
DRIVING_LEARNER = LearnerConfig(observation=DRIVING_OBSERVATION)


@dataclass(frozen=True)
class VehicleState:
    """The vehicle at one frame, in the map frame (REP-103: metres, radians)."""

    x: float
    y: float
    yaw: float
    speed: float       # signed forward speed, m/s
    steer: float       # applied controls, as the simulator reports them
    throttle: float
    brake: float
    yaw_rate: float = 0.0   # rad/s, CCW (odometry twist.angular.z); the "camera" preset's

    def check(self) -> None:
        values = [self.x, self.y, self.yaw, self.speed, self.steer, self.throttle, self.brake,
                  self.yaw_rate]
        if not np.isfinite(values).all():
            raise ValueError(f"vehicle state has a non-finite value: {self}")


@dataclass(frozen=True)
class Observation:
    """What the networks see at one frame, plus what the replay topic sends of it."""

    image: np.ndarray | None   # uint8 [stack * C, H, W]; None without an image ("state")
    vector: np.ndarray         # float32 [k], scaled
    frame: np.ndarray          # uint8 [C, H, W], the newest frame only ([0, 0, 0] if none)

    def as_dict(self) -> dict[str, np.ndarray]:
        if self.image is None:
            return {"vector": self.vector}
        return {"image": self.image, "vector": self.vector}


class DrivingTask:
    """Observation and reward bookkeeping of one vehicle along one route."""

    def __init__(self, obs_config: ObservationConfig, reward_config: RewardConfig):
        # no preset: the route layout, as configs written before presets existed
        self.preset = obs_config.preset or DEFAULT_PRESET
        image, fields = OBSERVATION_PRESETS[self.preset]
        if obs_config.vector_size != len(fields) or obs_config.image != image:
            raise ValueError(f"observation.vector_size is {obs_config.vector_size} and image "
                             f"{obs_config.image}, but the driving task's '{self.preset}' "
                             f"observation has image {image} and {len(fields)} values "
                             f"({', '.join(n for n, _, _ in fields)}); set "
                             f"observation.preset: {self.preset}")
        self.obs_config = obs_config
        self.reward = LaneKeepingReward(reward_config)
        self.frames = FrameStack(obs_config) if image else None
        self.route: Route | None = None
        self._hint: int | None = None
        self._s = 0.0
        self.travelled = 0.0

    def set_route(self, points: np.ndarray) -> None:
        """A new route (waypoints); raises ValueError for an unusable one."""
        self.route = Route(points)
        self._hint = None

    def _pose(self, state: VehicleState) -> RoutePose:
        pose = self.route.pose(state.x, state.y, state.yaw, self._hint)
        self._hint = pose.index
        return pose

    def _vector(self, state: VehicleState, pose: RoutePose) -> np.ndarray:
        own = [state.speed, state.steer, state.throttle, state.brake]
        if self.preset == "camera":   # what the car measures about itself, nothing of the map
            return normalize_vector(own + [state.yaw_rate], self.obs_config)
        near = self.route.curvature_ahead(pose.index, 15.0)
        far_total = self.route.curvature_ahead(pose.index, 45.0) * 45.0
        far = (far_total - near * 15.0) / 30.0
        raw = own + [pose.lateral, pose.heading_error, near, far]
        return normalize_vector(raw, self.obs_config)

    def _observe(self, image: np.ndarray | None, vector: np.ndarray,
                 first: bool) -> Observation:
        if self.frames is None:
            return Observation(None, vector, empty_frame())
        if image is None:
            raise ValueError(f"observation preset {self.obs_config.preset!r} needs a camera "
                             "image, but the frame has none")
        frame = preprocess_frame(image, self.obs_config)
        frame = frame[None] if frame.ndim == 2 else frame
        stacked = self.frames.reset(frame) if first else self.frames.push(frame)
        return Observation(stacked, vector, frame)

    def begin(self, image: np.ndarray | None, state: VehicleState) -> Observation:
        """First frame of an episode."""
        if self.route is None:
            raise RuntimeError("DrivingTask.begin before a route was set (no waypoints yet)")
        state.check()
        self.reward.reset()
        self._hint = None
        pose = self._pose(state)
        self._s = pose.s
        self.travelled = 0.0
        return self._observe(image, self._vector(state, pose), first=True)

    def step(self, image: np.ndarray | None, state: VehicleState, *, off_road_event: bool,
             collision: bool) -> tuple[Observation, StepOutcome]:
        """The next frame after an action: its observation and what the step earned."""
        state.check()
        pose = self._pose(state)
        progress = self.route.progress(self._s, pose.s)
        self._s = pose.s
        self.travelled += progress
        fraction = self.reward.cfg.route_complete_fraction
        complete = (fraction > 0 and self.route.length > 0
                    and self.travelled >= self.route.length * fraction)
        outcome = self.reward.step(progress_m=progress, lateral_m=pose.lateral,
                                   heading_error=pose.heading_error, steer=state.steer,
                                   off_road_event=off_road_event, collision=collision,
                                   route_complete=complete)
        return self._observe(image, self._vector(state, pose), first=False), outcome

    @property
    def route_completion(self) -> float:
        """Fraction of the route's length driven along it so far this episode (0..1).

        The agent's own measure (it needs no simulator); benchmark records use the
        simulator's, the fraction of track tiles visited (docs/benchmarks.md).
        """
        if self.route is None or self.route.length <= 0:
            return 0.0
        return float(np.clip(self.travelled / self.route.length, 0.0, 1.0))
