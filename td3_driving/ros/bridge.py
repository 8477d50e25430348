"""Reading carla-ros-bridge messages into plain numbers (REP-103 units, map frame)."""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry, Path

from td3_driving.msg import EpisodeStats

# CarlaLaneInvasionEvent marking for leaving the road onto grass (docs/architecture.md).
GRASS = 8

# DrivingTask / LaneKeepingReward reasons -> EpisodeStats.termination_reason
REASONS = {
    "off_road": EpisodeStats.REASON_OFF_ROAD,
    "collision": EpisodeStats.REASON_COLLISION,
    "route_complete": EpisodeStats.REASON_ROUTE_COMPLETE,
    "time_limit": EpisodeStats.REASON_TIME_LIMIT,
    "stalled": EpisodeStats.REASON_STALLED,
    "sim_reset": EpisodeStats.REASON_SIM_RESET,
    "shutdown": EpisodeStats.REASON_SHUTDOWN,
}


def stamp_ns(stamp: Time) -> int:
    """A header stamp as integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def yaw_of(q) -> float:
    """Yaw (rotation about z, radians) of a geometry_msgs/Quaternion."""
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


def odometry_pose(msg: Odometry, topic: str = "odometry") -> tuple[float, float, float, float]:
    """(x, y, yaw, signed forward speed) from an Odometry whose twist is in the vehicle frame.

    Raises ValueError naming the field for NaN/Inf values.
    """
    p, q, v = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist.linear
    values = {"pose.pose.position.x": p.x, "pose.pose.position.y": p.y,
              "pose.pose.orientation": q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z,
              "twist.twist.linear.x": v.x}
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{topic}: {name} is not finite ({value})")
    if values["pose.pose.orientation"] < 1e-6:
        raise ValueError(f"{topic}: pose.pose.orientation is a zero quaternion")
    return float(p.x), float(p.y), yaw_of(q), float(v.x)


def applied_control(msg, topic: str = "vehicle_status") -> tuple[float, float, float]:
    """(steer, throttle, brake) the bridge applied, from a CarlaEgoVehicleStatus.

    Raises ValueError naming the field for NaN/Inf values.
    """
    ctrl = msg.control
    values = {name: float(getattr(ctrl, name)) for name in ("steer", "throttle", "brake")}
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{topic}: control.{name} is not finite ({value})")
    return values["steer"], values["throttle"], values["brake"]


def path_points(msg: Path, topic: str = "waypoints") -> np.ndarray:
    """The [N, 2] x/y points of a nav_msgs/Path; ValueError when unusable as a route."""
    pts = np.array([[ps.pose.position.x, ps.pose.position.y] for ps in msg.poses], np.float64)
    if len(pts) < 2:
        raise ValueError(f"{topic}: the path has {len(pts)} poses; a route needs at least 2")
    if not np.isfinite(pts).all():
        raise ValueError(f"{topic}: poses[].pose.position has NaN or Inf")
    return pts
