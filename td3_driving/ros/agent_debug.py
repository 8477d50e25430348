"""The agent's rviz2 topics: the processed frame, the command, the reward, a status text.

Each is built and published only while someone subscribes to it, so a training run pays
nothing for them.
"""

from __future__ import annotations

import numpy as np
from carla_msgs.msg import CarlaEgoVehicleControl
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float32
from visualization_msgs.msg import Marker

from td3_driving.ros import qos
from td3_driving.ros.image import array_to_image


class DebugTopics:
    """~/observation, ~/action, ~/reward and ~/status_marker of one agent node."""

    def __init__(self, node: Node, role_name: str) -> None:
        b = qos.BRIDGE

        def pub(msg_type, topic, profile):
            return node.create_publisher(msg_type, topic, profile,
                                         event_callbacks=qos.NO_EVENTS_PUB)
        self.role_name = role_name
        self.observation = pub(Image, "~/observation", b)
        self.action = pub(CarlaEgoVehicleControl, "~/action", b)
        self.reward = pub(Float32, "~/reward", b)
        self.marker = pub(Marker, "~/status_marker", b)

    def publish(self, step, command: CarlaEgoVehicleControl, loop) -> None:
        """One frame's debug output (``step``: the agent loop's Step for that frame)."""
        if self.observation.get_subscription_count():
            frame = step.observation.frame
            self.observation.publish(array_to_image(frame[-1], "mono8")
                                     if frame.shape[0] == 1 else
                                     array_to_image(np.moveaxis(frame, 0, 2), "rgb8"))
        if self.action.get_subscription_count():
            self.action.publish(command)
        if step.outcome is not None and self.reward.get_subscription_count():
            self.reward.publish(Float32(data=float(step.outcome.reward)))
        if self.marker.get_subscription_count():
            steer, accel = loop.last_action
            m = Marker(type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, ns="agent", id=0)
            m.header.frame_id = self.role_name
            m.pose.position.z, m.pose.orientation.w, m.scale.z = 4.0, 1.0, 2.0
            m.color.r = m.color.g = m.color.b = m.color.a = 1.0
            m.text = (f"steer {steer:+.2f} accel {accel:+.2f} | return "
                      f"{loop.episode_return:.1f} | v{loop.policy_version}")
            self.marker.publish(m)
