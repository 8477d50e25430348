"""A scripted carla-ros-bridge for one vehicle: publishes exactly the messages a test says.

The agent node under test sees the bridge's topics and QoS; the test decides every stamp
and field, so a bad message can be placed into one specific tick.
"""

import math

import numpy as np
from carla_msgs.msg import (
    CarlaControl,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleStatus,
    CarlaStatus,
)
from geometry_msgs.msg import Pose, PoseStamped
from nav_msgs.msg import Odometry, Path
from rcl_interfaces.msg import Log
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from td3_driving.bringup import stack
from td3_driving.msg import EpisodeStats, ExperienceBatch, LearnerStatus, PolicyWeights
from td3_driving.nodes.agent import AgentNode
from td3_driving.ros import qos
from td3_driving.ros.geometry import yaw_to_quaternion
from td3_driving.ros.image import array_to_image, rgb_to_bgra
from td3_driving.ros.sim_messages import sim_stamp

ROLE = "hero0"
NS = f"/carla/{ROLE}"
RADIUS = 50.0
# 16x16 frames, stack 2: the agent's work per frame is tiny
AGENT_PARAMS = {"role_name": ROLE, "settle_ticks": 0, "batch_steps": 4,
                "publish_debug": False, "observation.stack": 2,
                "observation.height": 16, "observation.width": 16}


def make_agent(graph, **overrides) -> AgentNode:
    params = [Parameter(k, value=v) for k, v in {**AGENT_PARAMS, **overrides}.items()]
    return graph.add(AgentNode(context=graph.context, parameter_overrides=params))


def circle(n=314):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[RADIUS * np.cos(t), RADIUS * np.sin(t)]


def start(graph, bridge_kwargs=None, **agent_params):
    """An agent node and a FakeBridge that gave it a circular route: (agent, bridge)."""
    agent = make_agent(graph, **agent_params)
    bridge = FakeBridge(graph, **(bridge_kwargs or {}))
    assert graph.spin_until(bridge.connected)
    bridge.route(circle())
    assert graph.spin_until(lambda: agent.loop.task.route is not None)
    return agent, bridge


def step(graph, bridge, **bad):
    """One tick; returns once the agent answered it with one command."""
    n = len(bridge.controls)
    bridge.tick(**bad)
    assert graph.spin_until(lambda: len(bridge.controls) == n + 1), "no command for the frame"


class FakeBridge:
    """Publishes one vehicle's per-tick topics; records what the agent sends back."""

    def __init__(self, graph, replay_subscriber=True):
        self.node = node = graph.node("fake_bridge")
        self.image_pub = node.create_publisher(Image, f"{NS}/rgb_front/image", qos.BRIDGE)
        self.odom_pub = node.create_publisher(Odometry, f"{NS}/odometry", qos.BRIDGE)
        self.status_pub = node.create_publisher(CarlaEgoVehicleStatus, f"{NS}/vehicle_status",
                                                qos.BRIDGE)
        self.path_pub = node.create_publisher(Path, f"{NS}/waypoints", qos.WAYPOINTS)
        self.weights_pub = node.create_publisher(PolicyWeights, stack.WEIGHTS_TOPIC,
                                                 qos.WEIGHTS)
        self.learner_status_pub = node.create_publisher(LearnerStatus,
                                                        stack.LEARNER_STATUS_TOPIC, qos.STATS)
        self.carla_status_pub = node.create_publisher(CarlaStatus, "/carla/status", qos.BRIDGE)
        self.controls: list[CarlaEgoVehicleControl] = []
        self.resets: list[Pose] = []
        self.sim_control: list[CarlaControl] = []
        self.batches: list[ExperienceBatch] = []
        self.episodes: list[EpisodeStats] = []
        self.logs: list[Log] = []
        sub = node.create_subscription
        sub(CarlaEgoVehicleControl, f"{NS}/vehicle_control_cmd", self.controls.append,
            qos.BRIDGE)
        sub(Pose, f"{NS}/control/set_transform", self.resets.append, qos.BRIDGE)
        sub(CarlaControl, "/carla/control", self.sim_control.append, qos.BRIDGE)
        sub(EpisodeStats, stack.EPISODE_STATS_TOPIC, self.episodes.append, qos.STATS)
        sub(Log, "/rosout", self.logs.append, qos.STATS)
        if replay_subscriber:
            sub(ExperienceBatch, stack.REPLAY_TOPIC, self.batches.append, qos.REPLAY)
        self.t = 0.0
        self.angle = 0.0

    def connected(self) -> bool:
        return (self.odom_pub.get_subscription_count() > 0
                and all(self.node.count_publishers(t) > 0 for t in (
                    f"{NS}/vehicle_control_cmd", "/carla/control", f"{NS}/control/set_transform",
                    stack.EPISODE_STATS_TOPIC)))

    def route(self, points) -> None:
        msg = Path()
        msg.header.frame_id = "map"
        for x, y in points:
            ps = PoseStamped()
            ps.pose.position.x, ps.pose.position.y = float(x), float(y)
            msg.poses.append(ps)
        self.path_pub.publish(msg)

    # --- the three parts of one tick, good by default -------------------------------------
    def image(self, stamp) -> Image:
        rgb = np.full((24, 24, 3), int(self.t * 10) % 256, np.uint8)
        msg = array_to_image(rgb_to_bgra(rgb), "bgra8")
        msg.header.stamp = stamp
        return msg

    def odometry(self, stamp) -> Odometry:
        msg = Odometry()
        msg.header.stamp = stamp
        p = msg.pose.pose
        p.position.x, p.position.y = RADIUS * math.cos(self.angle), RADIUS * math.sin(self.angle)
        p.orientation = yaw_to_quaternion(self.angle + math.pi / 2)
        msg.twist.twist.linear.x = 10.0
        return msg

    def status(self, stamp) -> CarlaEgoVehicleStatus:
        msg = CarlaEgoVehicleStatus()
        msg.header.stamp = stamp
        msg.velocity = 10.0
        msg.control.throttle = 0.5
        return msg

    def tick(self, t=None, **bad) -> None:
        """Publish one tick at sim time ``t`` (next 0.08 s by default); ``bad`` replaces a
        part: image=fn(msg) -> msg, or a ready message."""
        self.t = self.t + 0.08 if t is None else t
        self.angle += 0.016
        stamp = sim_stamp(self.t)
        for name, pub in (("image", self.image_pub), ("status", self.status_pub),
                          ("odometry", self.odom_pub)):
            msg = getattr(self, name)(stamp)
            change = bad.get(name)
            if change is not None:
                msg = change(msg)
            pub.publish(msg)

    def log_text(self, level) -> str:
        return "\n".join(m.msg for m in self.logs if m.level == level)

    def steps(self):
        """(sequence, episode_id, step_index, truncated, terminated) of all batches."""
        out = []
        for b in self.batches:
            out += list(zip(map(int, b.sequence), map(int, b.episode_id),
                            map(int, b.step_index), b.truncated, b.terminated))
        return out
