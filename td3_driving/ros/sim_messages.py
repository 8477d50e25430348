"""Messages of the carla-ros-bridge interface built from the embedded simulator's state.

Conversions (no node, no publishing): sim_bridge calls them once per tick. The per-tick
ones fill a message given as ``out`` instead of a new one: sim_bridge keeps one message
per topic, so that a tick builds no message objects (a new message builds every nested
message and header, twice where a field is then replaced). Frames
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
from geometry_msgs.msg import PoseStamped, Quaternion, Transform, TransformStamped, Vector3
from nav_msgs.msg import Odometry, Path
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from td3_driving.ros.bridge import ns_stamp
from td3_driving.ros.geometry import DOWNWARD_OPTICAL, planar_pose, yaw_to_quaternion
from td3_driving.sim.carracing import CarKinematics
from td3_driving.sim.vehicle import VehicleFacts, vehicle_id
from td3_driving.sim.world import Track
from td3_driving.task.geometry import quaternion_from_yaw

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


def control_msg(header: Header, steer: float, throttle: float, brake: float,
                out: CarlaEgoVehicleControl | None = None) -> CarlaEgoVehicleControl:
    msg = CarlaEgoVehicleControl() if out is None else out
    msg.header = header
    msg.throttle, msg.steer, msg.brake = float(throttle), float(steer), float(brake)
    return msg


def vehicle_status(header: Header, s: CarKinematics, accel_map: np.ndarray, yaw_accel: float,
                   applied: CarlaEgoVehicleControl,
                   out: CarlaEgoVehicleStatus | None = None) -> CarlaEgoVehicleStatus:
    """Unsigned speed, acceleration in ``map`` (as the bridge reports CARLA's), orientation."""
    msg = CarlaEgoVehicleStatus() if out is None else out
    msg.header, msg.velocity, msg.control = header, float(s.speed), applied
    a = msg.acceleration
    a.linear.x, a.linear.y, a.linear.z = float(accel_map[0]), float(accel_map[1]), 0.0
    a.angular.x, a.angular.y, a.angular.z = 0.0, 0.0, float(yaw_accel)
    _set_yaw(msg.orientation, s.yaw)
    return msg


def odometry(header: Header, child: str, s: CarKinematics,
             out: Odometry | None = None) -> Odometry:
    odom = Odometry() if out is None else out
    odom.header, odom.child_frame_id = header, child
    p = odom.pose.pose
    p.position.x, p.position.y, p.position.z = float(s.x), float(s.y), 0.0
    _set_yaw(p.orientation, float(s.yaw))
    t = odom.twist.twist
    t.linear.x, t.linear.y, t.linear.z = float(s.vx), float(s.vy), 0.0
    t.angular.x, t.angular.y, t.angular.z = 0.0, 0.0, float(s.yaw_rate)
    return odom


def _set_yaw(q: Quaternion, yaw: float) -> None:
    """``q`` = the rotation by ``yaw`` about +z, in place (what yaw_to_quaternion builds)."""
    q.x, q.y, q.z, q.w = quaternion_from_yaw(yaw)


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


def bgra_image(header: Header, width: int, height: int, data: bytes,
               out: Image | None = None) -> Image:
    """A bgra8 Image around ready-made pixel bytes (tight rows, as CARLA's cameras send)."""
    if len(data) != 4 * width * height:
        raise ValueError(f"{len(data)} bytes do not make a {width}x{height} bgra8 image")
    msg = Image() if out is None else out
    msg.header, msg.height, msg.width, msg.encoding = header, height, width, "bgra8"
    msg.is_bigendian, msg.step, msg.data = 0, 4 * width, data
    return msg
