"""nav_msgs/Path on the wire (CDR) without a Python message object per pose.

A CarRacing track's waypoints Path has about 1,100 poses. rclpy builds a Python object for
every field of every pose when it converts such a message, each way: building and
publishing one took the simulator about 90 ms and taking one took the agent about 40 ms,
on every new track (one per training episode). Here the simulator writes the serialized
message itself and the agent reads the points out of it (a raw subscription): a few
milliseconds each. The bytes are the ROS 2 CDR encoding of nav_msgs/Path that rclpy and
rmw_fastrtps use (test/unit/test_path_cdr.py checks both directions against rclpy's own
serialization); a message in an encoding this reader does not know (XCDR2, parameter
lists) is converted by rclpy as before.
"""

from __future__ import annotations

import struct

import numpy as np
from builtin_interfaces.msg import Time
from nav_msgs.msg import Path
from rclpy.serialization import deserialize_message

from td3_driving.task.geometry import quaternion_from_yaw

# The encapsulation header of plain CDR (XCDR1): representation id 0x0000 (big endian) or
# 0x0001 (little endian), then two option bytes. Alignment counts from after it.
_ENCAPSULATION = 4
_BYTE_ORDER = {b"\x00\x00": ">", b"\x00\x01": "<"}
_POSE_DOUBLES = 7   # position x, y, z; orientation x, y, z, w


def _string(text: str) -> bytes:
    """A CDR string: uint32 length including the terminating NUL, then the bytes."""
    raw = text.encode() + b"\0"
    return struct.pack("<I", len(raw)) + raw


def encode_path(stamp: Time, frame_id: str, xyz: np.ndarray, quat_xyzw: np.ndarray) -> bytes:
    """The serialized nav_msgs/Path (little endian) whose poses are ``xyz`` [N, 3] and
    ``quat_xyzw`` [N, 4], each pose with the Path's own header (stamp and frame_id).
    """
    header = struct.pack("<iI", stamp.sec, stamp.nanosec) + _string(frame_id)
    out = bytearray(b"\x00\x01\x00\x00")
    out += header
    out += b"\0" * (-len(header) % 4) + struct.pack("<I", len(xyz))
    doubles = np.concatenate([np.asarray(xyz, np.float64),
                              np.asarray(quat_xyzw, np.float64)], axis=1)
    for pose in doubles.tolist():
        out += b"\0" * (-(len(out) - _ENCAPSULATION) % 4) + header
        out += b"\0" * (-(len(out) - _ENCAPSULATION) % 8)
        out += struct.pack("<7d", *pose)
    return bytes(out)


def _decode_points(data: bytes, order: str) -> np.ndarray:
    """[N, 3] positions of a plain-CDR Path; ValueError for bytes that are not one."""
    u32, pos = struct.Struct(order + "I"), _ENCAPSULATION

    def skip_header(at: int) -> int:
        at += (-(at - _ENCAPSULATION)) % 4 + 8               # stamp: int32 + uint32
        (length,) = u32.unpack_from(data, at)
        return at + 4 + length                              # frame_id

    pos = skip_header(pos)
    pos += (-(pos - _ENCAPSULATION)) % 4
    (count,) = u32.unpack_from(data, pos)
    pos += 4
    # a pose is at least 12 header bytes + 56 bytes of doubles: no loop over a false count
    if count * 68 > len(data) - pos:
        raise ValueError(f"{count} poses do not fit into {len(data)} bytes")
    points = np.empty((count, 3), np.float64)
    xyz = struct.Struct(order + "3d")
    for i in range(count):
        pos = skip_header(pos)
        pos += (-(pos - _ENCAPSULATION)) % 8
        points[i] = xyz.unpack_from(data, pos)
        pos += 8 * _POSE_DOUBLES
    if pos > len(data):
        raise ValueError(f"the poses end at byte {pos}, after the message's {len(data)}")
    return points


def path_xyz(data: bytes) -> np.ndarray:
    """The [N, 3] pose positions of a serialized nav_msgs/Path.

    Raises ValueError when the bytes are not a Path (truncated, a count that does not fit).
    """
    order = _BYTE_ORDER.get(bytes(data[:2]))
    try:
        if order is not None:
            return _decode_points(data, order)
        msg = deserialize_message(data, Path)   # another encoding: rclpy reads it
    except (struct.error, RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"not a serialized nav_msgs/Path ({exc})") from exc
    return np.array([[p.pose.position.x, p.pose.position.y, p.pose.position.z]
                     for p in msg.poses], np.float64).reshape(-1, 3)


def yaw_quaternions(yaw: np.ndarray) -> np.ndarray:
    """[N, 4] (x, y, z, w) of rotations by ``yaw`` about +z (task.geometry's, per angle)."""
    return np.array([quaternion_from_yaw(y) for y in np.asarray(yaw, np.float64).tolist()],
                    np.float64).reshape(-1, 4)
