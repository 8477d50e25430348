"""Record episodes as ROS 2 bags (MCAP, rosbag2 layout), one bag folder per episode.

    python -m td3_driving.apps.record --out runs/bags [--role ego_vehicle]

runs a recorder node beside a running stack (training or driving): it subscribes to the
vehicle's carla-ros-bridge topics, TF, the agent's debug topics and the episode statistics,
and starts a new bag at each episode end the simulator reports. ``evaluate --record DIR``
uses the same node through the ROS stack, and td3_driving.ros.episode_bag in-process, where
it also records what only the agent knows: the processed observation, each reward term and
the critic's Q of each action taken.

Topics of an in-process recording (R = role name; stamps are simulator time):
  /carla/R/rgb_front/image          sensor_msgs/Image rgb8, the camera
  /carla/R/rgb_front/camera_info    sensor_msgs/CameraInfo, with each image
  /carla/R/odometry, /tf            nav_msgs/Odometry, tf2_msgs/TFMessage (map -> R)
  /carla/R/vehicle_control_cmd      carla_msgs/CarlaEgoVehicleControl, stamped with the
                                    frame it answers
  /carla/R/waypoints                nav_msgs/Path (latched), the route
  /td3/R/observation/image          sensor_msgs/Image mono8, the stacked network frames
                                    side by side (oldest left)
  /td3/R/observation/vector         std_msgs/Float32MultiArray, the scaled vehicle vector;
                                    layout.dim[0].label names its fields
  /td3/R/reward, /td3/R/reward/<term>   std_msgs/Float32, what the step into this frame earned
  /td3/R/q                          std_msgs/Float32, min(Q1, Q2) of the action taken
  /td3/episode_stats                td3_driving/EpisodeStats, once at the end (also in
                                    metadata.yaml's custom_data "episode_stats")
"""

from __future__ import annotations

import argparse
import struct
import sys
import threading
from pathlib import Path

import rclpy
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float32

from td3_driving.bringup.stack import EPISODE_STATS_TOPIC
from td3_driving.msg import EpisodeStats
from td3_driving.recording.bag import BagWriter, typestore
from td3_driving.ros import qos
from td3_driving.ros.episode_bag import bag_name, ros_type


class RecorderNode(Node):
    """Subscribes to one vehicle's topics as serialized messages; one bag per episode.

    An episode ends with its ``/sim/<role>/episode_score`` message (the simulator's episode
    end, stamped with the episode's last frame). Messages are sorted into episodes by their
    header stamps, not by arrival: callbacks of different topics run in any order, so a
    frame of the ended episode may arrive after its end message. The first message stamped
    later than the end starts the next bag; messages without a header go with the newest
    stamp seen. The route (latched waypoints) is copied into every bag. Bag timestamps are
    the node's clock: simulator time under ``use_sim_time`` (the default here).
    """

    def __init__(self, out_dir: str | Path, role: str = "ego_vehicle",
                 agent_node: str | None = None, **kwargs) -> None:
        kwargs.setdefault("parameter_overrides",
                          [Parameter("use_sim_time", value=True)])
        super().__init__("episode_recorder", **kwargs)
        self.out, self.role = Path(out_dir), role
        self.store = typestore()
        self.lock = threading.Lock()
        self.bag: BagWriter | None = None
        self.episodes = 0
        self.paths: list[Path] = []
        self.route: tuple[str, bytes] | None = None
        self.ended_at: int | None = None   # header stamp (ns) that ended the open bag
        self.newest = 0                    # newest header stamp seen (ns)
        ns = f"/carla/{role}"
        agent_node = agent_node or f"/{role}/agent"   # the stack's agent (stack.agent_node)
        from carla_msgs.msg import (
            CarlaCollisionEvent,
            CarlaEgoVehicleControl,
            CarlaEgoVehicleStatus,
            CarlaLaneInvasionEvent,
        )
        from tf2_msgs.msg import TFMessage
        topics = [(Image, f"{ns}/rgb_front/image"), (CameraInfo, f"{ns}/rgb_front/camera_info"),
                  (Odometry, f"{ns}/odometry"),
                  (CarlaEgoVehicleStatus, f"{ns}/vehicle_status"),
                  (CarlaEgoVehicleControl, f"{ns}/vehicle_control_cmd"),
                  (CarlaCollisionEvent, f"{ns}/collision"),
                  (CarlaLaneInvasionEvent, f"{ns}/lane_invasion"), (TFMessage, "/tf"),
                  (Image, f"{agent_node}/observation"), (Float32, f"{agent_node}/reward"),
                  (EpisodeStats, EPISODE_STATS_TOPIC)]
        for cls, topic in topics:
            self.create_subscription(cls, topic, self._recorder(topic, ros_type(cls)),
                                     qos.STATS if cls is EpisodeStats else qos.BRIDGE,
                                     raw=True)
        self.create_subscription(PathMsg, f"{ns}/waypoints", self._on_route, qos.WAYPOINTS,
                                 raw=True)
        self.create_subscription(EpisodeStats, f"/sim/{role}/episode_score", self._on_end,
                                 qos.STATS, raw=True)

    def _now(self) -> int:
        return self.get_clock().now().nanoseconds

    def _open(self, copy_route: bool = True) -> BagWriter:
        if self.bag is None:
            path = self.out / bag_name(self.episodes)
            self.bag = BagWriter(path, self.store, latched=(f"/carla/{self.role}/waypoints",))
            self.paths.append(path)
            if self.route is not None and copy_route:
                self.bag.write(f"/carla/{self.role}/waypoints", self.route[0], self._now(),
                               self.route[1])
        return self.bag

    def _route_to_episode(self, stamp: int | None) -> None:
        """Close the ended episode's bag once a message stamped after its end arrives."""
        if stamp is not None:
            self.newest = max(self.newest, stamp)
        if self.ended_at is not None and (stamp or self.newest) > self.ended_at:
            self.bag.close()
            self.get_logger().info(f"episode {self.episodes - 1} recorded in "
                                   f"{self.paths[-1]}")
            self.bag, self.ended_at = None, None

    def _recorder(self, topic: str, msgtype: str):
        offset = 8 if msgtype == "tf2_msgs/msg/TFMessage" else 4   # after a sequence length
        headed = offset == 8 or _header_first(self.store, msgtype)

        def record(data: bytes) -> None:
            with self.lock:
                self._route_to_episode(_stamp(data, offset) if headed else None)
                self._open().write(topic, msgtype, self._now(), data)
        return record

    def _on_route(self, data: bytes) -> None:
        with self.lock:
            self._route_to_episode(_stamp(data, 4))
            self.route = (ros_type(PathMsg), data)
            self._open(copy_route=False).write(f"/carla/{self.role}/waypoints",
                                               self.route[0], self._now(), data)

    def _on_end(self, data: bytes) -> None:
        with self.lock:
            stamp = _stamp(data, 4)
            self._route_to_episode(stamp)
            self._open().write(f"/sim/{self.role}/episode_score", ros_type(EpisodeStats),
                               self._now(), data)
            self.ended_at = stamp if stamp is not None else self.newest
            self.episodes += 1

    def close(self) -> None:
        with self.lock:
            if self.bag is not None and self.ended_at is not None:   # a whole episode
                self.bag.close()
            elif self.bag is not None:   # messages after the last episode end: kept, marked
                self.paths[-1] = self.bag.close_incomplete()
            self.bag = None


def _header_first(store, msgtype: str) -> bool:
    fields = store.fielddefs[msgtype][1]
    return bool(fields) and fields[0][0] == "header"


def _stamp(data: bytes, offset: int) -> int | None:
    """header.stamp (ns) of a CDR message whose header starts at ``offset``."""
    if len(data) < offset + 8:
        return None
    # CDR encapsulation: byte 1 is 1 for little endian, 0 for big endian
    sec, nanosec = struct.unpack_from("<iI" if data[1] == 1 else ">iI", data, offset)
    return sec * 1_000_000_000 + nanosec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, type=Path, help="folder for the episode bags")
    p.add_argument("--role", default="ego_vehicle", help="the vehicle's role_name")
    p.add_argument("--agent", help="the agent node's full name, for its ~/observation and "
                                   "~/reward debug topics (default: /<role>/agent)")
    ns = p.parse_args(argv)
    rclpy.init()
    node = RecorderNode(ns.out, ns.role, ns.agent)
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()
    print(f"{node.episodes} complete episode(s) in {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
