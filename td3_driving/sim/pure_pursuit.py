"""Pure pursuit on a path plus a curvature-aware speed PID (ROS-free).

The classical baseline: steer the rear axle onto an arc through a look-ahead point on the
path (Coulter 1992), and track a speed profile that respects a lateral-acceleration limit in
curves and a deceleration limit before them. Angles are REP-103 (CCW positive); the output
is a CARLA-convention control (steer +1 = right, throttle/brake 0..1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from td3_driving.sim.config import PurePursuitConfig
from td3_driving.task.route import Route


@dataclass
class SpeedPid:
    """PID on speed error with a clamped integrator (anti-windup)."""

    kp: float
    ki: float
    kd: float
    integral: float = 0.0
    prev_error: float | None = None

    def __call__(self, error: float, dt: float) -> float:
        self.integral = float(np.clip(self.integral + error * dt, -20.0, 20.0))
        deriv = 0.0 if self.prev_error is None or dt <= 0 else (error - self.prev_error) / dt
        self.prev_error = error
        return self.kp * error + self.ki * self.integral + self.kd * deriv

    def reset(self) -> None:
        self.integral, self.prev_error = 0.0, None


@dataclass(frozen=True)
class Control:
    """A CARLA-convention command."""

    steer: float      # -1..1, +1 = right
    throttle: float   # 0..1
    brake: float      # 0..1


class PurePursuitDriver:
    """Drives along a :class:`Route`'s vertices: pure pursuit steering and a planned speed."""

    def __init__(self, cfg: PurePursuitConfig):
        self.cfg = cfg
        self.path: Route | None = None
        self.pid = SpeedPid(cfg.kp, cfg.ki, cfg.kd)
        self._speed_limit: np.ndarray | None = None
        self._nearest: int | None = None   # the last nearest vertex: the next search's hint

    def set_path(self, path: Route) -> None:
        self.path = path
        kappa = np.maximum(np.abs(path.vertex_curvature(window_m=3.0)), 1e-6)
        self._speed_limit = np.minimum(np.sqrt(self.cfg.max_lateral_accel / kappa),
                                       self.cfg.max_speed_mps)
        self._nearest = None
        self.pid.reset()

    def nearest(self, x: float, y: float) -> tuple[int, float]:
        """The path vertex nearest to (x, y) and its distance, searched near the last one."""
        assert self.path is not None
        self._nearest, dist = self.path.nearest_vertex(x, y, self._nearest)
        return self._nearest, dist

    def target_speed(self, i: int) -> float:
        """Fastest speed at vertex ``i`` from which every curve ahead can still be taken."""
        assert self.path is not None and self._speed_limit is not None
        step = self.path.spacing
        k = np.arange(int(self.cfg.preview_m / step) + 1)
        j = self.path.vertex_index(i + k)
        dist = k * step
        return float(np.min(np.sqrt(self._speed_limit[j] ** 2 + 2 * self.cfg.max_decel * dist)))

    def steer_angle(self, x: float, y: float, yaw: float, speed: float) -> tuple[float, int]:
        """Front wheel angle (rad, CCW positive) and the index of the nearest path vertex."""
        assert self.path is not None
        cfg = self.cfg
        # Pure pursuit is defined about the rear axle; CarRacing's hull origin is mid-car.
        rx = x - 0.5 * cfg.wheelbase_m * math.cos(yaw)
        ry = y - 0.5 * cfg.wheelbase_m * math.sin(yaw)
        i, _ = self.nearest(x, y)
        lookahead = cfg.lookahead_min_m + cfg.lookahead_gain_s * max(speed, 0.0)
        tx, ty = self.path.vertices[self.path.vertex_ahead(i, lookahead)]
        alpha = math.atan2(ty - ry, tx - rx) - yaw
        ld = max(math.hypot(tx - rx, ty - ry), 1e-3)
        return math.atan2(2.0 * cfg.wheelbase_m * math.sin(alpha), ld), i

    def control(self, x: float, y: float, yaw: float, speed: float, dt: float,
                lateral_speed: float = 0.0) -> Control:
        """One command from the pose (map), body-frame velocity (m/s) and tick length (s).

        CarRacing's car is rear-wheel driven with wheels that spin up easily: throttle while
        steering or sliding makes it spin out, so throttle is reduced with the steering angle
        and cut while the body slides sideways faster than ``slip_cutoff_mps``.
        """
        if self.path is None:
            return Control(0.0, 0.0, 0.0)
        delta, i = self.steer_angle(x, y, yaw, speed)
        steer = float(np.clip(-delta * self.cfg.steer_per_rad, -1.0, 1.0))
        u = self.pid(self.target_speed(i) - speed, dt)
        cap = 1.0 - self.cfg.throttle_steer_reduction * min(abs(delta) / 0.4, 1.0)
        if abs(lateral_speed) > self.cfg.slip_cutoff_mps:
            cap = 0.0
        throttle = float(np.clip(u, 0.0, max(cap, 0.0)))
        brake = float(np.clip(-u, 0.0, self.cfg.max_brake))
        return Control(steer, throttle, brake)

    def reset(self) -> None:
        self.pid.reset()
        self._nearest = None
