"""Validation of everything a peer can send to the simulator (ROS-free).

Each function reads a message's fields by attribute (any object with those fields works,
so the rules are unit-tested without ROS), checks them completely and returns plain values,
or raises :class:`Refused` naming the field, what was wrong and what to do, before any
state changes. Out-of-range control values are clamped (as CARLA clamps them) and reported
in ``notes``; non-finite values are refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gymnasium.envs.box2d import car_racing as cr

from td3_driving.sim.pure_pursuit import Control
from td3_driving.task.geometry import yaw_from_quaternion

# CARLA's control ranges.
CONTROL_RANGES = {"steer": (-1.0, 1.0), "throttle": (0.0, 1.0), "brake": (0.0, 1.0)}
# Outside this square CarRacing ends the episode (its playfield), metres.
PLAYFIELD_M = float(cr.PLAYFIELD)
# set_target_velocity bounds: far beyond what the car reaches, short of what breaks Box2D.
MAX_SPEED_MPS, MAX_YAW_RATE = 250.0, 50.0
_NS_PER_S = 1_000_000_000


class Refused(ValueError):
    """A message that must not change anything; ``field`` names the offending field."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Command:
    """A validated vehicle control command."""

    control: Control
    stamp_ns: int                 # the frame it answers; 0 = unstamped
    notes: tuple[str, ...] = field(default=())  # clamps and ignored fields, for a warning


def stamp_ns(stamp, name: str = "header.stamp") -> int:
    """A builtin_interfaces/Time as integer nanoseconds; refuses what Time cannot hold."""
    sec, nanosec = int(stamp.sec), int(stamp.nanosec)
    if sec < 0 or not 0 <= nanosec < _NS_PER_S:
        raise Refused(name, f"sec={sec}, nanosec={nanosec} is not a valid time "
                      "(sec >= 0, 0 <= nanosec < 1e9); stamp commands with the frame's stamp")
    return sec * _NS_PER_S + nanosec


def vehicle_control(msg) -> Command:
    """A CarlaEgoVehicleControl: finite controls (clamped into range) and a valid stamp."""
    values = {name: float(getattr(msg, name)) for name in CONTROL_RANGES}
    bad = [f"{k}={v}" for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise Refused(bad[0].split("=")[0], f"non-finite {', '.join(bad)}; keeping the "
                      "previous control")
    notes = []
    for name, (lo, hi) in CONTROL_RANGES.items():
        v = values[name]
        values[name] = min(max(v, lo), hi)
        if values[name] != v:
            notes.append(f"{name}={v} outside [{lo}, {hi}], clamped to {values[name]}")
    if msg.hand_brake:  # CarRacing brakes all wheels; a full brake locks them as a handbrake
        values["brake"] = 1.0
    if msg.reverse:
        notes.append("reverse=true is not supported (CarRacing has no reverse gear); "
                     "driving forward")
    return Command(Control(values["steer"], values["throttle"], values["brake"]),
                   stamp_ns(msg.header.stamp), tuple(notes))


@dataclass(frozen=True)
class Placement:
    """Where a teleport puts the car (map, metres and radians)."""

    x: float
    y: float
    yaw: float


def pose(msg) -> Placement:
    """A geometry_msgs/Pose for a teleport: finite, on the playfield, a rotation about z.

    Roll and pitch are dropped (the world is flat); the quaternion need not be unit length.
    """
    p, q = msg.position, msg.orientation
    for name, v in (("position.x", p.x), ("position.y", p.y), ("position.z", p.z),
                    ("orientation.x", q.x), ("orientation.y", q.y),
                    ("orientation.z", q.z), ("orientation.w", q.w)):
        if not math.isfinite(float(v)):
            raise Refused(name, f"non-finite value {v}")
    x, y = float(p.x), float(p.y)
    if abs(x) > PLAYFIELD_M or abs(y) > PLAYFIELD_M:
        raise Refused("position", f"({x:.1f}, {y:.1f}) lies outside the playfield "
                      f"|x|, |y| <= {PLAYFIELD_M:.0f} m; teleport onto the track")
    qx, qy, qz, qw = (float(v) for v in (q.x, q.y, q.z, q.w))
    norm = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    if not 1e-6 < norm < 1e150:  # squares of larger values overflow
        raise Refused("orientation", f"quaternion norm {norm:g} is not a rotation; send a unit "
                      "quaternion (w=1 for yaw 0)")
    yaw = yaw_from_quaternion(qx / norm, qy / norm, qz / norm, qw / norm)
    return Placement(x, y, yaw)


@dataclass(frozen=True)
class Velocity:
    """A target velocity in the vehicle frame (m/s, rad/s)."""

    vx: float
    vy: float
    yaw_rate: float


def twist(msg) -> Velocity:
    """A geometry_msgs/Twist for set_target_velocity (vehicle frame, as the bridge)."""
    lin, ang = msg.linear, msg.angular
    values = {"linear.x": lin.x, "linear.y": lin.y, "linear.z": lin.z,
              "angular.x": ang.x, "angular.y": ang.y, "angular.z": ang.z}
    for name, v in values.items():
        if not math.isfinite(float(v)):
            raise Refused(name, f"non-finite value {v}")
    speed = math.hypot(float(lin.x), float(lin.y))
    if speed > MAX_SPEED_MPS:
        raise Refused("linear", f"speed {speed:g} m/s exceeds {MAX_SPEED_MPS:g} m/s")
    if abs(float(ang.z)) > MAX_YAW_RATE:
        raise Refused("angular.z", f"{float(ang.z):g} rad/s exceeds {MAX_YAW_RATE:g} rad/s")
    return Velocity(float(lin.x), float(lin.y), float(ang.z))


def carla_control(msg) -> int:
    """carla_msgs/CarlaControl: PLAY=0, PAUSE=1, STEP_ONCE=2."""
    command = int(msg.command)
    if command not in (0, 1, 2):
        raise Refused("command", f"unknown command {command} (PLAY=0, PAUSE=1, STEP_ONCE=2)")
    return command


def track_seed(msg) -> int | None:
    """std_msgs/UInt64 on next_track: a track seed, or 0 = the next of the seed schedule."""
    seed = int(msg.data)
    if seed < 0:
        raise Refused("data", f"negative seed {seed}")
    return seed or None
