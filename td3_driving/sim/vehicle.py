"""CarRacing's car described as CARLA describes a vehicle, in SI units (ROS-free).

CarRacing's Box2D world is in metres (the hull is 5 units long: one unit is one metre) and
Box2D's densities are kg/m^2, so its bodies' masses are kilograms and its forces newtons.
The car really is that light: a 7 kg body whose engine, grip and brakes are scaled to match
(about 22 g of grip), so its accelerations are plausible while its mass is not; scaling
the mass alone would misstate the dynamics. The fields of carla_msgs/CarlaEgoVehicleInfo
that have no counterpart in CarRacing's physics are listed in docs/carla_bridge.md and
reported as 0.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from gymnasium.envs.box2d import car_dynamics as cd

from td3_driving.sim.config import PHYSICS_DT

# Standard gravity: turns CarRacing's grip force limit into a friction coefficient.
GRAVITY = 9.81
# car_dynamics.Car.step: a brake command b removes 15 * b rad/s of wheel speed per step.
_BRAKE_OMEGA_PER_STEP = 15.0
# car_dynamics' revolute joints limit the front wheels to +-0.4 rad.
MAX_STEER_ANGLE = 0.4
TYPE_ID = "vehicle.gymnasium.car_racing"


@dataclass(frozen=True)
class Wheel:
    """One wheel, as carla_msgs/CarlaEgoVehicleInfoWheel describes it."""

    position: tuple[float, float, float]  # metres in the vehicle frame (x forward, y left)
    radius: float                         # m
    max_steer_angle: float                # rad (0 for the rear wheels)
    tire_friction: float                  # grip force limit / the wheel's share of weight
    max_brake_torque: float               # N m
    max_handbrake_torque: float           # N m (hand_brake applies the full brake)


@dataclass(frozen=True)
class VehicleFacts:
    """The vehicle, as carla_msgs/CarlaEgoVehicleInfo describes it."""

    type_id: str
    mass: float                               # kg, hull and wheels
    center_of_mass: tuple[float, float, float]  # metres in the vehicle frame
    moi: float                                # kg m^2, the driven wheel's inertia
    drag_coefficient: float                   # CarRacing has no aerodynamic drag
    wheels: tuple[Wheel, ...]                 # front wheels first, as CARLA lists them


def vehicle_facts(car: cd.Car) -> VehicleFacts:
    """Facts of a built car (``env.car`` after a reset)."""
    size = cd.SIZE
    mass = float(car.hull.mass + sum(w.mass for w in car.wheels))
    com = car.hull.localCenter  # hull-local: +y forward, +x right
    per_wheel_load = mass * GRAVITY / len(car.wheels)
    brake_torque = cd.WHEEL_MOMENT_OF_INERTIA * _BRAKE_OMEGA_PER_STEP / PHYSICS_DT
    order = sorted(cd.WHEELPOS, key=lambda p: -p[1])  # front (larger y) first
    wheels = tuple(Wheel(position=(wy * size, -wx * size, 0.0), radius=cd.WHEEL_R * size,
                         max_steer_angle=MAX_STEER_ANGLE if wy > 0 else 0.0,
                         tire_friction=cd.FRICTION_LIMIT / per_wheel_load,
                         max_brake_torque=brake_torque, max_handbrake_torque=brake_torque)
                   for wx, wy in order)
    return VehicleFacts(type_id=TYPE_ID, mass=mass,
                        center_of_mass=(float(com[1]), float(-com[0]), 0.0),
                        moi=cd.WHEEL_MOMENT_OF_INERTIA, drag_coefficient=0.0, wheels=wheels)


def vehicle_id(role: str) -> int:
    """A stable actor id per role name (CRC32), distinct per vehicle in one graph."""
    return zlib.crc32(role.encode()) or 1
