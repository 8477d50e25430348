"""One vehicle's driving task: frames + vehicle state -> observation, reward, episode end.

The agent node feeds it one simulator frame at a time; everything here is ROS-free so that
the same observation and reward code is unit-tested and reused in-process.

The vehicle vector (ObservationConfig.vector_size must be len(VECTOR_FIELDS)), raw units:
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from td3_driving.core.config import LearnerConfig, ObservationConfig
from td3_driving.task.observation import FrameStack, normalize_vector, preprocess_frame
from td3_driving.task.reward import LaneKeepingReward, RewardConfig, StepOutcome
from td3_driving.task.route import Route

# name, unit, default divisor (ObservationConfig.vector_scale) that makes it O(1).
VECTOR_FIELDS: tuple[tuple[str, str, float], ...] = (
    ("speed", "m/s, signed forward", 30.0),
    ("steer", "applied steer, -1..1 (CARLA convention: + = right)", 1.0),
    ("throttle", "applied throttle, 0..1", 1.0),
    ("brake", "applied brake, 0..1", 1.0),
    ("lateral_offset", "m from the route centerline, + = left", 6.7),
    ("heading_error", "rad, vehicle yaw - route direction", 1.0),
    ("curvature_near", "1/m, mean over the next 15 m, + = left turn", 0.05),
    ("curvature_far", "1/m, mean over 15..45 m ahead, + = left turn", 0.05),
)
__doc__ += "".join(f"\n  {i}. {n}: {u} (scale {s})" for i, (n, u, s) in enumerate(VECTOR_FIELDS))
VECTOR_SIZE = len(VECTOR_FIELDS)
DEFAULT_VECTOR_SCALE = tuple(s for _, _, s in VECTOR_FIELDS)
# The observation defaults of the driving task: agents and the learner declare these as
# their observation.* parameter defaults, so both sides agree unless a params file says
# otherwise (and then it says so for both).
DRIVING_OBSERVATION = ObservationConfig(vector_size=VECTOR_SIZE,
                                        vector_scale=DEFAULT_VECTOR_SCALE)
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

    def check(self) -> None:
        values = [self.x, self.y, self.yaw, self.speed, self.steer, self.throttle, self.brake]
        if not np.isfinite(values).all():
            raise ValueError(f"vehicle state has a non-finite value: {self}")


@dataclass(frozen=True)
class Observation:
    """What the networks see at one frame, plus what the replay topic sends of it."""

    image: np.ndarray     # uint8 [stack * C, H, W]
    vector: np.ndarray    # float32 [k], scaled
    frame: np.ndarray     # uint8 [C, H, W], the newest preprocessed frame only

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"image": self.image, "vector": self.vector}


class DrivingTask:
    """Observation and reward bookkeeping of one vehicle along one route."""

    def __init__(self, obs_config: ObservationConfig, reward_config: RewardConfig):
        if obs_config.vector_size != VECTOR_SIZE:
            raise ValueError(f"observation.vector_size is {obs_config.vector_size}, but the "
                             f"driving vehicle vector has {VECTOR_SIZE} values "
                             f"({', '.join(n for n, _, _ in VECTOR_FIELDS)}); set "
                             f"observation.vector_size: {VECTOR_SIZE}")
        self.obs_config = obs_config
        self.reward = LaneKeepingReward(reward_config)
        self.frames = FrameStack(obs_config)
        self.route: Route | None = None
        self._hint: int | None = None
        self._s = 0.0
        self.travelled = 0.0

    def set_route(self, points: np.ndarray) -> None:
        """A new route (waypoints); raises ValueError for an unusable one."""
        self.route = Route(points)
        self._hint = None

    def _vector(self, state: VehicleState) -> tuple[np.ndarray, "object"]:
        pose = self.route.pose(state.x, state.y, state.yaw, self._hint)
        self._hint = pose.index
        near = self.route.curvature_ahead(pose.index, 15.0)
        far_total = self.route.curvature_ahead(pose.index, 45.0) * 45.0
        far = (far_total - near * 15.0) / 30.0
        raw = [state.speed, state.steer, state.throttle, state.brake, pose.lateral,
               pose.heading_error, near, far]
        return normalize_vector(raw, self.obs_config), pose

    def _frame(self, image: np.ndarray) -> np.ndarray:
        frame = preprocess_frame(image, self.obs_config)
        return frame[None] if frame.ndim == 2 else frame

    def begin(self, image: np.ndarray, state: VehicleState) -> Observation:
        """First frame of an episode."""
        if self.route is None:
            raise RuntimeError("DrivingTask.begin before a route was set (no waypoints yet)")
        state.check()
        self.reward.reset()
        self._hint = None
        vector, pose = self._vector(state)
        self._s = pose.s
        self.travelled = 0.0
        frame = self._frame(image)
        return Observation(self.frames.reset(frame), vector, frame)

    def step(self, image: np.ndarray, state: VehicleState, *, off_road_event: bool,
             collision: bool) -> tuple[Observation, StepOutcome]:
        """The next frame after an action: its observation and what the step earned."""
        state.check()
        vector, pose = self._vector(state)
        progress = self.route.progress(self._s, pose.s)
        self._s = pose.s
        self.travelled += progress
        complete = self.route.length > 0 and self.travelled >= self.route.length * 0.98
        outcome = self.reward.step(progress_m=progress, lateral_m=pose.lateral,
                                   heading_error=pose.heading_error, steer=state.steer,
                                   off_road_event=off_road_event, collision=collision,
                                   route_complete=complete)
        frame = self._frame(image)
        return Observation(self.frames.push(frame), vector, frame), outcome

    @property
    def route_completion(self) -> float:
        """Fraction of the route driven so far this episode (0..1)."""
        if self.route is None or self.route.length <= 0:
            return 0.0
        return float(np.clip(self.travelled / self.route.length, 0.0, 1.0))
