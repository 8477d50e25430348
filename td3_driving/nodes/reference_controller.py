"""reference_controller: pure pursuit + speed PID driving through the bridge topics only.

The integration-test driver and the classical baseline of every benchmark table. It is
lockstep friendly: it answers every odometry message (the last message of a simulator
frame) with exactly one vehicle_control_cmd stamped with that frame's stamp. Speed comes
from the odometry's twist (stamped, so it belongs to the same frame; the speedometer's
Float32 carries no stamp). It resets the episode when the simulator reports the episode's
end on /sim/<role>/episode_score, or when the car has been farther than
off_track_distance_m from the waypoints for off_track_ticks ticks: by asking for the next
track on /sim/<role>/next_track where a simulator listens there (ours), else by teleporting
to the route's start with control/set_transform (CARLA).
"""

from __future__ import annotations

import numpy as np
from carla_msgs.msg import CarlaEgoVehicleControl
from geometry_msgs.msg import Pose
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rclpy.time import Time
from std_msgs.msg import UInt64

from td3_driving.msg import EpisodeStats
from td3_driving.ros import qos
from td3_driving.ros.geometry import quaternion_to_yaw
from td3_driving.ros.params import declare_config
from td3_driving.ros.spin import run_node
from td3_driving.sim.config import ReferenceControllerConfig
from td3_driving.sim.pure_pursuit import PurePursuitDriver
from td3_driving.task.route import Route


class ReferenceControllerNode(Node):
    """Drives /carla/<role_name> along its waypoints."""

    def __init__(self, **kwargs):
        super().__init__("reference_controller", **kwargs)
        self.cfg = declare_config(self, ReferenceControllerConfig)
        ns = f"/carla/{self.cfg.role_name}"
        self._driver = PurePursuitDriver(self.cfg.pursuit)
        self._path_start: Pose | None = None
        self._last_stamp: Time | None = None
        self._off_ticks = 0
        self._reset_sent = False
        self._cmd_pub = self.create_publisher(CarlaEgoVehicleControl,
                                              f"{ns}/vehicle_control_cmd", qos.BRIDGE)
        self._reset_pub = self.create_publisher(Pose, f"{ns}/control/set_transform", qos.BRIDGE)
        self._track_pub = self.create_publisher(UInt64, f"/sim/{self.cfg.role_name}/next_track",
                                                qos.BRIDGE)
        self.create_subscription(Path, f"{ns}/waypoints", self._on_path, qos.WAYPOINTS)
        self.create_subscription(Odometry, f"{ns}/odometry", self._on_odometry, qos.BRIDGE)
        self.create_subscription(EpisodeStats, f"/sim/{self.cfg.role_name}/episode_score",
                                 self._on_episode_end, qos.STATS)

    def _on_path(self, msg: Path) -> None:
        xy = np.array([(p.pose.position.x, p.pose.position.y) for p in msg.poses])
        try:
            route = Route(xy.reshape(-1, 2))
        except ValueError as e:
            self.get_logger().warning(f"waypoints ({len(msg.poses)} poses): {e}; "
                                      "keeping the previous path")
            return
        self._driver.set_path(route)
        self._path_start = msg.poses[0].pose
        self._off_ticks = 0
        self._reset_sent = False  # a new path is a new episode
        self._last_stamp = None

    def _on_odometry(self, msg: Odometry) -> None:
        pose, twist = msg.pose.pose, msg.twist.twist
        stamp = Time.from_msg(msg.header.stamp)
        dt = self._step_dt(stamp)
        cmd = CarlaEgoVehicleControl(header=msg.header)
        if self._driver.path is not None:
            yaw = quaternion_to_yaw(pose.orientation)
            c = self._driver.control(pose.position.x, pose.position.y, yaw, twist.linear.x, dt,
                                     lateral_speed=twist.linear.y)
            cmd.steer, cmd.throttle, cmd.brake = c.steer, c.throttle, c.brake
            self._watch_off_track(pose.position.x, pose.position.y)
        try:
            self._cmd_pub.publish(cmd)
        except Exception:
            if self.context.ok():
                raise  # a real error; otherwise Ctrl-C shut the graph down meanwhile

    def _step_dt(self, stamp: Time) -> float:
        """Sim seconds since the previous frame (the PID's step); 0 on a new episode."""
        dt = 0.0 if self._last_stamp is None else (stamp - self._last_stamp).nanoseconds * 1e-9
        self._last_stamp = stamp
        return max(dt, 0.0)

    def _watch_off_track(self, x: float, y: float) -> None:
        _, dist = self._driver.nearest(x, y)
        self._off_ticks = self._off_ticks + 1 if dist > self.cfg.off_track_distance_m else 0
        if self.cfg.off_track_ticks and self._off_ticks >= self.cfg.off_track_ticks:
            self._request_reset(f"off track ({dist:.1f} m from the path) for "
                                f"{self._off_ticks} ticks")

    def _on_episode_end(self, msg: EpisodeStats) -> None:
        if self.cfg.reset_on_episode_end:
            self._request_reset(f"episode ended (native score {msg.native_score:.1f})")

    def _request_reset(self, why: str) -> None:
        if self._reset_sent or self._path_start is None:
            return
        self._reset_sent = True
        self._off_ticks = 0
        self.get_logger().info(f"resetting: {why}")
        if self._track_pub.get_subscription_count() > 0:
            self._track_pub.publish(UInt64(data=0))  # the simulator's next track
        else:
            self._reset_pub.publish(self._path_start)


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: ReferenceControllerNode(), args)


if __name__ == "__main__":
    raise SystemExit(main())
