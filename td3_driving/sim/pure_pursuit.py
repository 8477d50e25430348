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
from td3_driving.task.geometry import wrap_angle


class TrackPath:
    """A polyline with arc length, heading and curvature; closed loops wrap around."""

    def __init__(self, xy: np.ndarray, closed: bool | None = None):
        xy = np.asarray(xy, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) < 3:
            raise ValueError(f"path needs at least 3 points of (x, y), got shape {xy.shape}")
        seg = np.hypot(*np.diff(xy, axis=0).T)
        if closed is None:  # a loop whose end meets its start
            closed = bool(np.hypot(*(xy[0] - xy[-1])) < 2.0 * max(float(np.median(seg)), 1e-6))
        self.xy, self.closed = xy, closed
        pts = np.vstack([xy, xy[:1]]) if closed else xy
        self.seg = np.hypot(*np.diff(pts, axis=0).T)
        self.s = np.concatenate([[0.0], np.cumsum(self.seg)])[: len(xy)]
        self.length = float(self.s[-1] + (self.seg[-1] if closed else 0.0))
        d = np.diff(pts, axis=0)
        heading = np.arctan2(d[:, 1], d[:, 0])
        self.heading = heading if closed else np.append(heading, heading[-1])
        self.curvature = self._curvature(window_m=3.0)
        self._last = None

    def _curvature(self, window_m: float) -> np.ndarray:
        n = len(self.xy)
        spacing = self.length / n
        w = max(1, int(round(window_m / max(spacing, 1e-6))))
        idx = np.arange(n)
        lo, hi = idx - w, idx + w
        if self.closed:
            lo, hi = lo % n, hi % n
        else:
            lo, hi = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
        dpsi = wrap_angle(self.heading[hi] - self.heading[lo])
        ds = np.maximum((hi - lo) % n if self.closed else hi - lo, 1) * spacing
        return dpsi / ds

    def nearest(self, x: float, y: float) -> tuple[int, float]:
        """Index of the nearest point and its distance; searches near the last answer first."""
        n = len(self.xy)
        if self._last is not None:
            cand = np.arange(self._last - 20, self._last + 80)
            cand = cand % n if self.closed else cand[(cand >= 0) & (cand < n)]
            d = np.hypot(self.xy[cand, 0] - x, self.xy[cand, 1] - y)
            k = int(np.argmin(d))
            if d[k] < 15.0:
                self._last = int(cand[k])
                return self._last, float(d[k])
        d = np.hypot(self.xy[:, 0] - x, self.xy[:, 1] - y)
        self._last = int(np.argmin(d))
        return self._last, float(d[self._last])

    def ahead(self, i: int, distance: float) -> int:
        """Index of the point ``distance`` metres along the path after point ``i``."""
        n = len(self.xy)
        step = self.length / n
        j = i + int(round(distance / max(step, 1e-6)))
        return j % n if self.closed else min(j, n - 1)


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
    """Drives a :class:`TrackPath`: pure pursuit steering and a planned speed."""

    def __init__(self, cfg: PurePursuitConfig):
        self.cfg = cfg
        self.path: TrackPath | None = None
        self.pid = SpeedPid(cfg.kp, cfg.ki, cfg.kd)
        self._speed_limit: np.ndarray | None = None

    def set_path(self, path: TrackPath) -> None:
        self.path = path
        kappa = np.maximum(np.abs(path.curvature), 1e-6)
        self._speed_limit = np.minimum(np.sqrt(self.cfg.max_lateral_accel / kappa),
                                       self.cfg.max_speed_mps)
        self.pid.reset()

    def target_speed(self, i: int) -> float:
        """Fastest speed at point ``i`` from which every curve ahead can still be taken."""
        assert self.path is not None and self._speed_limit is not None
        n = len(self.path.xy)
        step = self.path.length / n
        k = np.arange(int(self.cfg.preview_m / step) + 1)
        j = (i + k) % n if self.path.closed else np.minimum(i + k, n - 1)
        dist = k * step
        return float(np.min(np.sqrt(self._speed_limit[j] ** 2 + 2 * self.cfg.max_decel * dist)))

    def steer_angle(self, x: float, y: float, yaw: float, speed: float) -> tuple[float, int]:
        """Front wheel angle (rad, CCW positive) and the index of the nearest path point."""
        assert self.path is not None
        cfg = self.cfg
        # Pure pursuit is defined about the rear axle; CarRacing's hull origin is mid-car.
        rx = x - 0.5 * cfg.wheelbase_m * math.cos(yaw)
        ry = y - 0.5 * cfg.wheelbase_m * math.sin(yaw)
        i, _ = self.path.nearest(x, y)
        lookahead = cfg.lookahead_min_m + cfg.lookahead_gain_s * max(speed, 0.0)
        tx, ty = self.path.xy[self.path.ahead(i, lookahead)]
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
        if self.path is not None:
            self.path._last = None
