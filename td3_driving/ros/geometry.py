"""Planar pose helpers between REP-103 yaw angles and geometry_msgs."""

from __future__ import annotations

import math

from geometry_msgs.msg import Point, Pose, Quaternion

from td3_driving.task.geometry import quaternion_from_yaw, yaw_from_quaternion


def yaw_to_quaternion(yaw: float) -> Quaternion:
    """Rotation by ``yaw`` radians about +z (CCW seen from above)."""
    x, y, z, w = quaternion_from_yaw(yaw)
    return Quaternion(x=x, y=y, z=z, w=w)


def quaternion_to_yaw(q: Quaternion) -> float:
    """The rotation's heading about +z in (-pi, pi]; roll and pitch are ignored."""
    return yaw_from_quaternion(q.x, q.y, q.z, q.w)


def planar_pose(x: float, y: float, yaw: float) -> Pose:
    return Pose(position=Point(x=float(x), y=float(y), z=0.0),
                orientation=yaw_to_quaternion(float(yaw)))


# Camera optical frame (x right, y down, z forward along the view) of a camera that looks
# straight down with the image's top towards the vehicle's front: x_opt = -y_body,
# y_opt = -x_body, z_opt = -z_body, i.e. a half turn about (1, -1, 0)/sqrt(2).
DOWNWARD_OPTICAL = Quaternion(x=math.sqrt(0.5), y=-math.sqrt(0.5), z=0.0, w=0.0)
