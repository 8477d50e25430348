"""nav_msgs/Path written and read as CDR bytes: what rclpy itself writes and reads."""

import struct

import numpy as np
import pytest

pytest.importorskip("carla_msgs.msg", reason="message tests need the built messages: ./env.sh")
from geometry_msgs.msg import PoseStamped  # noqa: E402
from nav_msgs.msg import Path  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from td3_driving.ros import path_cdr  # noqa: E402
from td3_driving.ros import sim_messages as sm  # noqa: E402
from td3_driving.ros.bridge import path_points  # noqa: E402


def track(n=1120, seed=0):
    rng = np.random.default_rng(seed)
    return np.c_[rng.normal(size=(n, 2)) * 300, rng.uniform(-np.pi, np.pi, n)]


@pytest.mark.parametrize("frame_id", ["map", "", "map_with_a_longer_name", "é"])
@pytest.mark.parametrize("n", [0, 1, 2, 1120])
def test_the_simulators_bytes_are_the_path_message_rclpy_would_send(frame_id, n):
    xyyaw = track(n)
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = 123, 456_789
    data = path_cdr.encode_path(header.stamp, frame_id,
                                np.c_[xyyaw[:, :2], np.zeros(n)],
                                path_cdr.yaw_quaternions(xyyaw[:, 2]))
    assert deserialize_message(data, Path) == sm.waypoints_path(header, xyyaw)


def poses_path(points, frame_ids):
    msg = Path(header=Header(frame_id="map"))
    for (x, y, z), frame in zip(points, frame_ids):
        ps = PoseStamped(header=Header(frame_id=frame))
        ps.header.stamp.sec = 7
        ps.pose.position.x, ps.pose.position.y, ps.pose.position.z = x, y, z
        ps.pose.orientation.w = 1.0
        msg.poses.append(ps)
    return msg


def test_the_agent_reads_every_position_of_what_rclpy_writes():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(50, 3)) * 1e3
    # frame ids of every length mod 8: the doubles' alignment padding varies pose by pose
    frames = ["m" * (i % 9) for i in range(50)]
    data = serialize_message(poses_path(points, frames))
    np.testing.assert_array_equal(path_cdr.path_xyz(data), points)
    np.testing.assert_array_equal(path_points(data), points)


def test_a_big_endian_path_is_read_too():
    points = np.array([[1.5, -2.0, 0.25], [3.0, 4.0, 5.0]])
    little = serialize_message(poses_path(points, ["map", "map"]))
    body = bytearray(little)
    # re-encode each field big endian: header, count, then both poses at their offsets
    big = bytearray(b"\x00\x00\x00\x00")
    big += struct.pack(">iI", 0, 0) + struct.pack(">I", 4) + b"map\0" + struct.pack(">I", 2)
    for x, y, z in points:
        big += b"\0" * (-(len(big) - 4) % 4) + struct.pack(">iI", 7, 0)
        big += struct.pack(">I", 4) + b"map\0"
        big += b"\0" * (-(len(big) - 4) % 8) + struct.pack(">7d", x, y, z, 0, 0, 0, 1)
    assert len(big) == len(body)
    np.testing.assert_array_equal(path_cdr.path_xyz(bytes(big)), points)


@pytest.mark.parametrize("cut", [3, 10, 30, 100, -1])
def test_truncated_bytes_are_no_path(cut):
    data = serialize_message(poses_path(np.ones((3, 3)), ["map"] * 3))
    with pytest.raises(ValueError, match="not a serialized nav_msgs/Path"):
        path_cdr.path_xyz(data[:cut])


def test_a_count_beyond_the_bytes_is_refused_before_any_loop():
    data = bytearray(serialize_message(poses_path(np.ones((3, 3)), ["map"] * 3)))
    data[20:24] = struct.pack("<I", 2**31)   # the poses' count, after the header
    with pytest.raises(ValueError, match="2147483648 poses do not fit"):
        path_cdr.path_xyz(bytes(data))


def test_another_encoding_is_read_by_rclpy():
    little = serialize_message(poses_path(np.ones((2, 3)), ["map"] * 2))
    data = b"\x00\x0b" + little[2:]   # a representation id this reader does not know
    expected = [[p.pose.position.x, p.pose.position.y, p.pose.position.z]
                for p in deserialize_message(data, Path).poses]
    np.testing.assert_array_equal(path_cdr.path_xyz(data), np.reshape(expected, (-1, 3)))


def test_an_unusable_route_names_the_topic():
    data = serialize_message(poses_path([[0.0, np.nan, 0.0], [1.0, 1.0, 0.0]], ["map"] * 2))
    with pytest.raises(ValueError, match="/carla/x/waypoints: poses.*NaN"):
        path_points(data, "/carla/x/waypoints")
