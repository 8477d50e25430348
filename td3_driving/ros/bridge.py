"""Reading carla-ros-bridge messages into plain numbers (REP-103 units, map frame)."""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry

from td3_driving.msg import EpisodeStats
from td3_driving.ros.geometry import quaternion_to_yaw
from td3_driving.ros.image import image_to_rgb
from td3_driving.ros.path_cdr import path_xyz
from td3_driving.task.agent_loop import EpisodeRecord, SensorFrame
from td3_driving.task.driving import VehicleState

# CarlaLaneInvasionEvent marking for leaving the road onto grass (docs/carla_bridge.md);
# beyond the message's three named constants. The one copy: the simulator publishes it too.
GRASS = 8
# Plausibility bounds of what a simulator can report: no map is 1000 km across and no car
# drives 1 km/s. Beyond them a value is garbage (and overflows the float32 observation).
POSITION_LIMIT_M = 1e6
SPEED_LIMIT_MPS = 1e3
YAW_RATE_LIMIT = 1e3
# Applied controls are reported within CarlaEgoVehicleControl's ranges (float32 rounding).
CONTROL_RANGES = {"steer": (-1.0, 1.0), "throttle": (0.0, 1.0), "brake": (0.0, 1.0)}
_CONTROL_SLACK = 1e-3

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


def ns_stamp(ns: int) -> Time:
    """Integer nanoseconds as a header stamp."""
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def odometry_pose(msg: Odometry, topic: str = "odometry") -> tuple[float, float, float, float]:
    """(x, y, yaw, signed forward speed) from an Odometry whose twist is in the vehicle frame.

    Raises ValueError naming the field for NaN/Inf values and values beyond what a vehicle
    can report (POSITION_LIMIT_M, SPEED_LIMIT_MPS).
    """
    p, q, v = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist.linear
    limits = {"pose.pose.position.x": (p.x, POSITION_LIMIT_M),
              "pose.pose.position.y": (p.y, POSITION_LIMIT_M),
              "twist.twist.linear.x": (v.x, SPEED_LIMIT_MPS)}
    for name, (value, limit) in limits.items():
        if not math.isfinite(value):
            raise ValueError(f"{topic}: {name} is not finite ({value})")
        if abs(value) > limit:
            raise ValueError(f"{topic}: {name}={value:.6g} is beyond {limit:.0e}: not a "
                             "vehicle's value")
    norm = q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z
    if not math.isfinite(norm):
        raise ValueError(f"{topic}: pose.pose.orientation is not finite")
    if norm < 1e-6:
        raise ValueError(f"{topic}: pose.pose.orientation is a zero quaternion")
    return float(p.x), float(p.y), quaternion_to_yaw(q), float(v.x)


def applied_control(msg, topic: str = "vehicle_status") -> tuple[float, float, float]:
    """(steer, throttle, brake) the bridge applied, from a CarlaEgoVehicleStatus.

    Raises ValueError naming the field for NaN/Inf values and values outside the control's
    range (CONTROL_RANGES).
    """
    ctrl = msg.control
    values = (float(ctrl.steer), float(ctrl.throttle), float(ctrl.brake))
    for (name, (lo, hi)), value in zip(CONTROL_RANGES.items(), values):
        if not math.isfinite(value):
            raise ValueError(f"{topic}: control.{name} is not finite ({value})")
        if not lo - _CONTROL_SLACK <= value <= hi + _CONTROL_SLACK:
            raise ValueError(f"{topic}: control.{name}={value:.6g} is outside [{lo}, {hi}]")
    return values


def path_points(data: bytes, topic: str = "waypoints") -> np.ndarray:
    """The [N, 3] x/y/z points of a serialized nav_msgs/Path (a raw subscription's message:
    ros/path_cdr.py reads a track's ~1,100 poses without a Python object each); ValueError
    when unusable as a route.
    """
    try:
        pts = path_xyz(data)
    except ValueError as exc:
        raise ValueError(f"{topic}: {exc}") from exc
    if len(pts) < 2:
        raise ValueError(f"{topic}: the path has {len(pts)} poses; a route needs at least 2")
    if not np.isfinite(pts).all():
        raise ValueError(f"{topic}: poses[].pose.position has NaN or Inf")
    if (np.abs(pts) > POSITION_LIMIT_M).any():
        raise ValueError(f"{topic}: poses[].pose.position beyond {POSITION_LIMIT_M:.0e} m")
    return pts


def sensor_frame(stamp: int, parts: dict, events: frozenset, topics: dict) -> SensorFrame:
    """One assembled frame (Image, Odometry, CarlaEgoVehicleStatus) as the agent loop's input.

    ``events`` are the latched event kinds ("off_road", "collision"); ``topics`` names the
    parts' topics for error messages. Raises ValueError naming topic and field.
    """
    x, y, yaw, speed = odometry_pose(parts["odometry"], topics["odometry"])
    steer, throttle, brake = applied_control(parts["status"], topics["status"])
    image = image_to_rgb(parts["image"], topics["image"])
    yaw_rate = float(parts["odometry"].twist.twist.angular.z)
    if not math.isfinite(yaw_rate) or abs(yaw_rate) > YAW_RATE_LIMIT:
        raise ValueError(f"{topics['odometry']}: twist.twist.angular.z={yaw_rate:.6g} is not a "
                         f"vehicle's yaw rate (finite, within {YAW_RATE_LIMIT} rad/s)")
    return SensorFrame(stamp, image, VehicleState(x, y, yaw, speed, steer, throttle, brake,
                                                  yaw_rate=yaw_rate),
                       off_road_event="off_road" in events, collision="collision" in events)


def episode_stats_msg(r: EpisodeRecord) -> EpisodeStats:
    """An agent's finished episode as EpisodeStats (the caller stamps the header)."""
    return EpisodeStats(
        agent_id=r.agent_id, episode_id=r.episode_id, policy_version=r.policy_version,
        evaluation=r.evaluation, episode_return=r.episode_return, length=r.length,
        native_score=math.nan,
        termination_reason=REASONS.get(r.reason, EpisodeStats.REASON_UNKNOWN),
        route_completion=r.route_completion,
        sim_time=0.0 if math.isnan(r.sim_time) else r.sim_time)
