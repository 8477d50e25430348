"""The agent node: one vehicle's camera and state in, one control command per frame out.

ROS plumbing around td3_driving.task.agent_loop.AgentLoop (the episode rules, exploration,
backpressure and experience): subscribes the vehicle's carla-ros-bridge topics and the
learner's, assembles each frame's messages by stamp (ros/frame_sync.py), converts and
validates them, and feeds the loop; what the loop decides goes out through
ros/agent_publishers.py. Every callback validates its message completely before anything
changes; a refused message is counted and logged (throttled per cause), never raised
(ros/refusals.py, docs/reliability.md).
"""

from __future__ import annotations

import numpy as np
from carla_msgs.msg import (
    CarlaCollisionEvent,
    CarlaEgoVehicleStatus,
    CarlaLaneInvasionEvent,
    CarlaStatus,
)
from nav_msgs.msg import Odometry, Path
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image

from td3_driving.bringup import stack
from td3_driving.core.config import ActionConfig, ObservationConfig
from td3_driving.core.policy import PolicyError
from td3_driving.msg import LearnerStatus, PolicyWeights
from td3_driving.ros import qos
from td3_driving.ros.agent_debug import DebugTopics
from td3_driving.ros.agent_publishers import AgentPublishers
from td3_driving.ros.bridge import GRASS, path_points, sensor_frame, stamp_ns
from td3_driving.ros.frame_sync import FrameAssembler
from td3_driving.ros.log_throttle import ThrottledLogger
from td3_driving.ros.params import declare_config
from td3_driving.ros.refusals import Refusals
from td3_driving.ros.spin import run_node
from td3_driving.ros.weights import WeightsGate, load_start_policy
from td3_driving.task.agent_loop import AgentLoop
from td3_driving.task.config import AgentConfig, RewardConfig
from td3_driving.task.driving import DRIVING_OBSERVATION, DrivingTask

# How often (steady clock) a frame held back for the learner is re-checked.
HOLD_CHECK_S = 0.5
LOG_PERIOD_S = 5.0
# Until the first frame, how often the agent looks for peers whose QoS cannot match its
# topics (it has no QoS-event handlers, ros/qos.py).
PEER_CHECK_S = 5.0


class AgentNode(Node):
    """One vehicle's agent; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("agent", **kwargs)
        self.cfg: AgentConfig = declare_config(self, AgentConfig)
        obs_cfg = declare_config(self, ObservationConfig, "observation", DRIVING_OBSERVATION)
        action_cfg = declare_config(self, ActionConfig, "action")
        reward_cfg = declare_config(self, RewardConfig, "reward")
        training = self.cfg.mode == "train"
        policy = load_start_policy(self.cfg.policy_file, obs_cfg, training,
                                   self.cfg.torch_threads)
        if policy is not None:
            obs_cfg, action_cfg = policy.observation, policy.action
        # A restarted agent must not reuse its predecessor's sequence numbers.
        suffix = np.random.default_rng(self.cfg.seed).integers(1 << 32)
        self.agent_id = f"{self.cfg.role_name}:{suffix:08x}"
        self.logs = ThrottledLogger(self.get_logger(), LOG_PERIOD_S)
        self.refusals = Refusals(self.logs, self.context.ok)
        self.out = AgentPublishers(self, self.cfg.role_name, training, self.logs)
        self.loop = AgentLoop(self.cfg, DrivingTask(obs_cfg, reward_cfg), action_cfg,
                              self.out, self.agent_id)
        if policy is not None:
            self.loop.set_policy(policy, 0)
        self.weights_gate = WeightsGate(obs_cfg, self.cfg.torch_threads)
        ns = f"/carla/{self.cfg.role_name}"
        self.topics = {"image": f"{ns}/rgb_front/image", "odometry": f"{ns}/odometry",
                       "status": f"{ns}/vehicle_status"}
        self.sync = FrameAssembler(tuple(self.topics), names=self.topics,
                                   max_ahead_ns=int(self.cfg.max_stamp_ahead_s * 1e9),
                                   warn=self.logs.warning)
        self._create_interfaces()
        # Timers only while needed: every turn of the executor walks the node's timers, and
        # the agent takes about six turns per frame.
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._hold_check = None   # exists while a frame is held back for the learner
        self._peer_check = self.create_timer(
            PEER_CHECK_S, self.refusals.guard("peer_check", self._check_peers),
            clock=self._steady)
        self.get_logger().info(
            f"agent {self.agent_id} in '{self.cfg.mode}' mode on /carla/{self.cfg.role_name}"
            + (f" with {self.cfg.policy_file}" if self.cfg.policy_file else ""))

    def _create_interfaces(self) -> None:
        ns, b = f"/carla/{self.cfg.role_name}", qos.BRIDGE

        def sub(msg_type, topic, fn, profile=b, raw=False):
            self.create_subscription(msg_type, topic, self.refusals.guard(topic, fn), profile,
                                     event_callbacks=qos.NO_EVENTS_SUB, raw=raw)
        sub(Image, self.topics["image"], lambda m: self._part("image", m))
        sub(Odometry, self.topics["odometry"], lambda m: self._part("odometry", m))
        sub(CarlaEgoVehicleStatus, self.topics["status"], lambda m: self._part("status", m))
        sub(CarlaCollisionEvent, f"{ns}/collision", lambda _m: self.sync.add_event("collision"))
        sub(CarlaLaneInvasionEvent, f"{ns}/lane_invasion", self._on_lane_invasion)
        sub(Path, f"{ns}/waypoints", self._on_waypoints, qos.WAYPOINTS, raw=True)
        sub(CarlaStatus, "/carla/status", self._on_carla_status)
        if self.loop.training:
            sub(PolicyWeights, stack.WEIGHTS_TOPIC, self._on_weights, qos.WEIGHTS)
            sub(LearnerStatus, stack.LEARNER_STATUS_TOPIC, self._on_status, qos.STATS)
        self.debug = DebugTopics(self, self.cfg.role_name) if self.cfg.publish_debug else None

    # --- inputs ------------------------------------------------------------------------------
    def _part(self, part: str, msg) -> None:
        frame = self.sync.add(part, stamp_ns(msg.header.stamp), msg)
        if frame is not None:
            self._on_frame(frame)

    def _on_frame(self, frame) -> None:
        if self._peer_check is not None:   # frames come: a timer less to walk per message
            self.destroy_timer(self._peer_check)
            self._peer_check = None
        try:
            sensor = sensor_frame(frame.stamp_ns, frame.parts, frame.events, self.topics)
        except ValueError as exc:
            # the message names topic and field; first word = topic = the cause
            self.loop.refuse_frame(frame.stamp_ns, str(exc).split(":")[0], str(exc))
            return
        step = self.loop.on_frame(sensor)
        self._watch_hold()
        if step is not None and not step.done:
            self.loop.act(step)
        if step is not None and self.debug is not None:
            self.debug.publish(step, self.out.command, self.loop)

    def _watch_hold(self) -> None:
        """A held frame is re-checked every HOLD_CHECK_S: a learner that died while the
        agent waited sends no status that would release it.
        """
        held = self.loop.held_frame is not None
        if held and self._hold_check is None:
            self._hold_check = self.create_timer(
                HOLD_CHECK_S, self.refusals.guard("hold_check", self._check_held),
                clock=self._steady)
        elif not held and self._hold_check is not None:
            self.destroy_timer(self._hold_check)
            self._hold_check = None

    def _check_held(self) -> None:
        self.loop.check_held()
        self._watch_hold()

    def _check_peers(self) -> None:
        for topic, why in qos.incompatible_peers(self).items():
            self.logs.warning(f"qos:{topic}", why)

    def _on_lane_invasion(self, msg: CarlaLaneInvasionEvent) -> None:
        if GRASS in msg.crossed_lane_markings:
            self.sync.add_event("off_road")

    def _on_waypoints(self, data: bytes) -> None:
        topic = f"/carla/{self.cfg.role_name}/waypoints"
        try:
            points = path_points(data, topic)
            self.loop.set_route(points[:, :2])
        except ValueError as exc:
            self.refusals.refuse_as(topic, "waypoints", f"{topic}: unusable route ({exc}); "
                                    "keeping the previous one")
            return
        self.out.route_z = float(points[0, 2])

    def _on_carla_status(self, msg: CarlaStatus) -> None:
        """A frame counter that goes back is how a simulator announces its restart."""
        try:
            restart = self.sync.simulator_frame(int(msg.frame), float(msg.fixed_delta_seconds))
        except ValueError as exc:
            self.refusals.refuse("/carla/status", str(exc))
            return
        if restart:
            self.loop.simulator_restarted(f"/carla/status: {restart}")

    def _on_weights(self, msg: PolicyWeights) -> None:
        previous = self.weights_gate.version
        try:
            policy = self.weights_gate.accept(msg)
        except PolicyError as exc:
            # throttled per reason: one kind of bad weights must not hide another
            self.refusals.refuse_as(stack.WEIGHTS_TOPIC, f"weights:{str(exc)[:24]}",
                                    f"{stack.WEIGHTS_TOPIC}: refused weights version "
                                    f"{msg.version}: {exc}; acting with version "
                                    f"{self.loop.policy_version}")
            return
        if msg.version < previous:
            self.logs.warning("weights_back", f"{stack.WEIGHTS_TOPIC}: version went back from "
                              f"{previous} to {msg.version}: a restarted learner; following it")
        self.loop.set_policy(policy, int(msg.version))

    def _on_status(self, msg: LearnerStatus) -> None:
        # a learner that stopped for good (divergence) must never leave the agent held
        if msg.stop_reason:
            self.logs.warning("learner_stopped", f"{stack.LEARNER_STATUS_TOPIC}: the learner "
                              f"stopped training ({msg.stop_reason}); driving on, experience "
                              "is no longer used")
        self.loop.learner_status(int(msg.steps_received), int(msg.steps_allowed),
                                 stopped=bool(msg.stop_reason))
        self._watch_hold()

    def close(self) -> None:
        """Publish what is pending and leave the simulator running."""
        if self.context.ok():   # after Ctrl-C nothing can be published any more
            self.loop.close()


def main(args=None) -> int:
    return run_node(lambda: AgentNode(), args)
