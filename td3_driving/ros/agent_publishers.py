"""The agent's output side: what its loop asks of the world, as messages on topics.

The agent node's counterpart of ros/sim_publishers.py. :class:`AgentPublishers` is the
AgentOutputs of task/agent_loop.py over ROS: commands stamped with the frame they answer,
the reset protocol's next_track and set_transform, /carla/control PAUSE/PLAY, episode
statistics and experience batches, and logging throttled per cause.
"""

from __future__ import annotations

from carla_msgs.msg import CarlaControl, CarlaEgoVehicleControl
from geometry_msgs.msg import Pose
from rclpy.node import Node
from std_msgs.msg import UInt64

from td3_driving.bringup import stack
from td3_driving.core.experience import StepBatch
from td3_driving.msg import EpisodeStats, ExperienceBatch
from td3_driving.ros import qos
from td3_driving.ros.bridge import episode_stats_msg, ns_stamp
from td3_driving.ros.experience_msg import step_batch_to_msg
from td3_driving.ros.geometry import yaw_to_quaternion
from td3_driving.ros.log_throttle import ThrottledLogger
from td3_driving.task.agent_loop import Control, EpisodeRecord


class AgentPublishers:
    """Creates one vehicle's agent publishers on ``node`` (replay only when training)."""

    def __init__(self, node: Node, role: str, training: bool, logs: ThrottledLogger) -> None:
        self.node, self.logs = node, logs
        ns, b = f"/carla/{role}", qos.BRIDGE

        def pub(msg_type, topic, profile):
            return node.create_publisher(msg_type, topic, profile,
                                         event_callbacks=qos.NO_EVENTS_PUB)
        self.control_pub = pub(CarlaEgoVehicleControl, f"{ns}/vehicle_control_cmd", b)
        self.reset_pub = pub(Pose, f"{ns}/control/set_transform", b)
        self.track_pub = pub(UInt64, f"/sim/{role}/next_track", b)
        self.sim_control_pub = pub(CarlaControl, "/carla/control", b)
        self.stats_pub = pub(EpisodeStats, stack.EPISODE_STATS_TOPIC, qos.STATS)
        self.replay_pub = pub(ExperienceBatch, stack.REPLAY_TOPIC, qos.REPLAY) \
            if training else None
        self.command = CarlaEgoVehicleControl(gear=1)   # the last one sent
        self.route_z = 0.0   # the route's height: a teleport keeps the car on the road

    def control(self, c: Control) -> None:
        cmd = self.command
        cmd.steer, cmd.throttle, cmd.brake = c.steer, c.throttle, c.brake
        cmd.header.stamp = ns_stamp(c.stamp_ns)
        self.control_pub.publish(cmd)

    def can_request_track(self) -> bool:
        return self.track_pub.get_subscription_count() > 0

    def request_track(self) -> None:
        self.track_pub.publish(UInt64(data=0))

    def teleport(self, x: float, y: float, yaw: float) -> None:
        pose = Pose(orientation=yaw_to_quaternion(yaw))
        pose.position.x, pose.position.y, pose.position.z = x, y, self.route_z
        self.reset_pub.publish(pose)

    def pause(self, paused: bool) -> None:
        self.sim_control_pub.publish(
            CarlaControl(command=CarlaControl.PAUSE if paused else CarlaControl.PLAY))

    def episode_end(self, r: EpisodeRecord) -> None:
        stats = episode_stats_msg(r)
        stats.header.stamp = self.node.get_clock().now().to_msg()
        self.stats_pub.publish(stats)
        self.logs.log("info", "episode", f"episode {r.episode_id} ended ({r.reason}): return "
                      f"{r.episode_return:.2f}, {r.length} steps, route "
                      f"{100 * r.route_completion:.0f} %")

    def experience(self, batch: StepBatch) -> str:
        if self.replay_pub is None or self.replay_pub.get_subscription_count() == 0:
            return f"no learner subscribed to {stack.REPLAY_TOPIC}"
        msg = step_batch_to_msg(batch)
        msg.header.stamp = self.node.get_clock().now().to_msg()
        try:
            self.replay_pub.publish(msg)
        except RuntimeError as exc:   # rclpy's RCLError: e.g. the writer's history is full
            if not self.node.context.ok():
                raise
            return (f"{stack.REPLAY_TOPIC}: could not publish {len(batch)} steps ({exc}); the "
                    "learner counts them as a gap")
        return ""

    def log(self, level: str, cause: str, text: str) -> None:
        self.logs.log(level, cause, text)
