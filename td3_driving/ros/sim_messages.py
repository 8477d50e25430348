"""Messages of the carla-ros-bridge interface built from the embedded simulator's state.

Pure conversions (no node, no publishing): sim_bridge calls them once per tick. Frames
follow the bridge: ``map`` for world quantities, ``<role>`` for the vehicle (twist in the
vehicle frame), ``<role>/rgb_front`` for the camera's optical frame.
"""

from __future__ import annotations

import math

import numpy as np
from builtin_interfaces.msg import Time
from carla_msgs.msg import (
    CarlaActorInfo,
    CarlaActorList,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleInfo,
    CarlaEgoVehicleInfoWheel,
    CarlaEgoVehicleStatus,
    CarlaWorldInfo,
)
from geometry_msgs.msg import Accel, PoseStamped, Quaternion, Transform, TransformStamped, Vector3
from nav_msgs.msg import Odometry, Path
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from td3_driving.ros.bridge import ns_stamp
from td3_driving.ros.geometry import DOWNWARD_OPTICAL, planar_pose, yaw_to_quaternion
from td3_driving.sim.carracing import CarKinematics
from td3_driving.sim.vehicle import VehicleFacts, vehicle_id
from td3_driving.sim.world import Track

# CARLA's type of an RGB camera, and the bridge's name for the one sensor we have.
CAMERA_TYPE, CAMERA_NAME = "sensor.camera.rgb", "rgb_front"


def sim_stamp(seconds: float) -> Time:
    return ns_stamp(int(round(seconds * 1e9)))


def camera_info(header: Header, width: int, height: int, fov_rad: float) -> CameraInfo:
    """The bridge's ideal pinhole: fx = fy = W / (2 tan(fov/2)), principal point centred."""
    f = width / (2.0 * math.tan(fov_rad / 2.0))
    cx, cy = width / 2.0, height / 2.0
    info = CameraInfo(header=header, width=width, height=height, distortion_model="plumb_bob")
    info.d = [0.0] * 5
    info.k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def control_msg(header: Header, steer: float, throttle: float,
                brake: float) -> CarlaEgoVehicleControl:
    return CarlaEgoVehicleControl(header=header, throttle=float(throttle), steer=float(steer),
                                  brake=float(brake))


def vehicle_status(header: Header, s: CarKinematics, accel_map: np.ndarray, yaw_accel: float,
                   applied: CarlaEgoVehicleControl) -> CarlaEgoVehicleStatus:
    """Unsigned speed, acceleration in ``map`` (as the bridge reports CARLA's), orientation."""
    accel = Accel(linear=Vector3(x=float(accel_map[0]), y=float(accel_map[1]), z=0.0),
                  angular=Vector3(x=0.0, y=0.0, z=float(yaw_accel)))
    return CarlaEgoVehicleStatus(header=header, velocity=float(s.speed), acceleration=accel,
                                 orientation=yaw_to_quaternion(s.yaw), control=applied)


def odometry(header: Header, child: str, s: CarKinematics) -> Odometry:
    odom = Odometry(header=header, child_frame_id=child)
    odom.pose.pose = planar_pose(s.x, s.y, s.yaw)
    odom.twist.twist.linear = Vector3(x=float(s.vx), y=float(s.vy), z=0.0)
    odom.twist.twist.angular = Vector3(x=0.0, y=0.0, z=float(s.yaw_rate))
    return odom


def transforms(stamp: Time, role: str, s: CarKinematics, camera_ahead: float,
               camera_height: float) -> TFMessage:
    """TF ``map`` -> role (vehicle) and role -> role/rgb_front (downward camera, optical)."""
    body = TransformStamped(header=Header(stamp=stamp, frame_id="map"), child_frame_id=role)
    body.transform = Transform(translation=Vector3(x=float(s.x), y=float(s.y), z=0.0),
                               rotation=yaw_to_quaternion(s.yaw))
    cam = TransformStamped(header=Header(stamp=stamp, frame_id=role),
                           child_frame_id=f"{role}/rgb_front")
    cam.transform = Transform(translation=Vector3(x=camera_ahead, y=0.0, z=camera_height),
                              rotation=Quaternion(x=DOWNWARD_OPTICAL.x, y=DOWNWARD_OPTICAL.y,
                                                  z=DOWNWARD_OPTICAL.z, w=DOWNWARD_OPTICAL.w))
    return TFMessage(transforms=[body, cam])


def waypoints_path(header: Header, xyyaw: np.ndarray) -> Path:
    path = Path(header=header)
    path.poses = [PoseStamped(header=header, pose=planar_pose(x, y, yaw)) for x, y, yaw in xyyaw]
    return path


def vehicle_info(role: str, facts: VehicleFacts) -> CarlaEgoVehicleInfo:
    """The car as CARLA describes vehicles (SI units); fields CarRacing lacks stay 0."""
    wheels = [CarlaEgoVehicleInfoWheel(
        tire_friction=float(w.tire_friction), radius=float(w.radius),
        max_steer_angle=float(w.max_steer_angle), max_brake_torque=float(w.max_brake_torque),
        max_handbrake_torque=float(w.max_handbrake_torque),
        position=Vector3(x=w.position[0], y=w.position[1], z=w.position[2]))
        for w in facts.wheels]
    cx, cy, cz = facts.center_of_mass
    return CarlaEgoVehicleInfo(id=vehicle_id(role), type=facts.type_id, rolename=role,
                               wheels=wheels, mass=float(facts.mass), moi=float(facts.moi),
                               drag_coefficient=float(facts.drag_coefficient),
                               center_of_mass=Vector3(x=cx, y=cy, z=cz))


def world_info(track: Track) -> CarlaWorldInfo:
    return CarlaWorldInfo(map_name=track.map_name, opendrive=track.opendrive)


def actor_list(role: str, facts: VehicleFacts) -> CarlaActorList:
    """The ego vehicle and its camera, as the bridge lists CARLA's actors."""
    ego = vehicle_id(role)
    return CarlaActorList(actors=[
        CarlaActorInfo(id=ego, parent_id=0, type=facts.type_id, rolename=role),
        CarlaActorInfo(id=vehicle_id(f"{role}/{CAMERA_NAME}"), parent_id=ego,
                       type=CAMERA_TYPE, rolename=CAMERA_NAME)])


def bgra_image(header: Header, width: int, height: int, data: bytes) -> Image:
    """A bgra8 Image around ready-made pixel bytes (tight rows, as CARLA's cameras send)."""
    if len(data) != 4 * width * height:
        raise ValueError(f"{len(data)} bytes do not make a {width}x{height} bgra8 image")
    return Image(header=header, height=height, width=width, encoding="bgra8", is_bigendian=0,
                 step=4 * width, data=data)
