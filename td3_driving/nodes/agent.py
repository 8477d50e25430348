"""The agent node: one vehicle's camera and state in, one control command per frame out.

ROS plumbing around td3_driving.task.agent_loop.AgentLoop (the episode rules, exploration,
backpressure and experience): subscribes the vehicle's carla-ros-bridge topics, assembles
each frame's messages by stamp, converts and validates them, feeds the loop, and publishes
what the loop decides: commands stamped with the frame they answer, the reset protocol's
next_track and set_transform, /carla/control PAUSE/PLAY, episode statistics and experience
batches. Every callback validates its message completely before anything changes; a
refused message is counted and logged (throttled per cause), never raised
(docs/reliability.md).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from builtin_interfaces.msg import Time
from carla_msgs.msg import (
    CarlaCollisionEvent,
    CarlaControl,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleStatus,
    CarlaLaneInvasionEvent,
    CarlaStatus,
)
from geometry_msgs.msg import Pose
from nav_msgs.msg import Odometry, Path
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import UInt64

from td3_driving.bringup import stack
from td3_driving.core.config import ActionConfig, ObservationConfig
from td3_driving.core.policy import PolicyError
from td3_driving.msg import EpisodeStats, ExperienceBatch, LearnerStatus, PolicyWeights
from td3_driving.ros import qos
from td3_driving.ros.agent_debug import DebugTopics
from td3_driving.ros.bridge import (
    GRASS,
    episode_stats_msg,
    path_points,
    sensor_frame,
    stamp_ns,
)
from td3_driving.ros.experience_msg import step_batch_to_msg
from td3_driving.ros.frame_sync import FrameAssembler
from td3_driving.ros.geometry import yaw_to_quaternion
from td3_driving.ros.log_throttle import ThrottledLogger
from td3_driving.ros.params import declare_config
from td3_driving.ros.spin import run_node
from td3_driving.ros.weights import WeightsGate, load_start_policy
from td3_driving.task.agent_loop import AgentLoop, Control, EpisodeRecord
from td3_driving.task.config import AgentConfig, RewardConfig
from td3_driving.task.driving import DRIVING_OBSERVATION, DrivingTask

# How often (steady clock) a frame held back for the learner is re-checked: a learner that
# died while the agent waited sends no status that would release it.
HOLD_CHECK_S = 0.5
LOG_PERIOD_S = 5.0


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
        self.loop = AgentLoop(self.cfg, DrivingTask(obs_cfg, reward_cfg), action_cfg, self,
                              self.agent_id)
        if policy is not None:
            self.loop.set_policy(policy, 0)
        self.weights_gate = WeightsGate(obs_cfg, self.cfg.torch_threads)
        self.sync = FrameAssembler(("image", "odometry", "status"),
                                   max_ahead_ns=int(self.cfg.max_stamp_ahead_s * 1e9))
        self.refused: Counter[str] = Counter()   # refused messages per topic
        self.unexpected: Counter[str] = Counter()   # of them, caught only by the last guard
        self._throttled = ThrottledLogger(self.get_logger(), LOG_PERIOD_S)
        self._sync_reported = 0
        self._sim_frame: int | None = None
        self._route_z = 0.0
        self._command = CarlaEgoVehicleControl(gear=1)
        self._create_interfaces()
        if training:
            self.create_timer(HOLD_CHECK_S, self._guard("hold_check", self.loop.check_held),
                              clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"agent {self.agent_id} in '{self.cfg.mode}' mode on /carla/{self.cfg.role_name}"
            + (f" with {self.cfg.policy_file}" if self.cfg.policy_file else ""))

    def _create_interfaces(self) -> None:
        ns = f"/carla/{self.cfg.role_name}"
        self.topics = {"image": f"{ns}/rgb_front/image", "odometry": f"{ns}/odometry",
                       "status": f"{ns}/vehicle_status"}
        b = qos.BRIDGE

        def sub(msg_type, topic, fn, profile=b):
            self.create_subscription(msg_type, topic, self._guard(topic, fn), profile)
        sub(Image, self.topics["image"], lambda m: self._part("image", m))
        sub(Odometry, self.topics["odometry"], lambda m: self._part("odometry", m))
        sub(CarlaEgoVehicleStatus, self.topics["status"], lambda m: self._part("status", m))
        sub(CarlaCollisionEvent, f"{ns}/collision", lambda _m: self.sync.add_event("collision"))
        sub(CarlaLaneInvasionEvent, f"{ns}/lane_invasion", self._on_lane_invasion)
        sub(Path, f"{ns}/waypoints", self._on_waypoints, qos.WAYPOINTS)
        sub(CarlaStatus, "/carla/status", self._on_carla_status)
        pub = self.create_publisher
        self.control_pub = pub(CarlaEgoVehicleControl, f"{ns}/vehicle_control_cmd", b)
        self.reset_pub = pub(Pose, f"{ns}/control/set_transform", b)
        self.track_pub = pub(UInt64, f"/sim/{self.cfg.role_name}/next_track", b)
        self.sim_control_pub = pub(CarlaControl, "/carla/control", b)
        self.stats_pub = pub(EpisodeStats, stack.EPISODE_STATS_TOPIC, qos.STATS)
        if self.loop.training:
            self.replay_pub = pub(ExperienceBatch, stack.REPLAY_TOPIC, qos.REPLAY)
            sub(PolicyWeights, stack.WEIGHTS_TOPIC, self._on_weights, qos.WEIGHTS)
            sub(LearnerStatus, stack.LEARNER_STATUS_TOPIC, self._on_status, qos.STATS)
        self.debug = DebugTopics(self, self.cfg.role_name) if self.cfg.publish_debug else None

    # --- refusals and logging --------------------------------------------------------------
    def _guard(self, topic: str, fn):
        """``fn`` as a callback from which no exception escapes: counted, logged, survived."""
        def callback(*args):
            try:
                fn(*args)
            except Exception as exc:   # noqa: BLE001  (no message may end the run)
                if not self.context.ok():
                    return   # shutting down: nothing left to publish to
                # validation should have refused this message before: count it as a bug
                self.unexpected[topic] += 1
                self._refuse(topic, f"{type(exc).__name__}: {exc}")
        return callback

    def _refuse(self, topic: str, why: str) -> None:
        self.refused[topic] += 1
        self.log("error", f"refused:{topic}", f"{topic}: refused a message ({why}); "
                 f"{self.refused[topic]} refused on this topic so far")

    def log(self, level: str, cause: str, text: str) -> None:
        """Throttled per cause (rclpy throttles per call site: one cause would hide another)."""
        if level == "error":
            self._throttled.error(cause, text)
        elif level == "warning":
            self._throttled.warning(cause, text)
        else:
            self.get_logger().info(text)

    # --- inputs ------------------------------------------------------------------------------
    def _part(self, part: str, msg) -> None:
        stamp = stamp_ns(msg.header.stamp)
        counters = self.sync.counters
        before = counters.ahead
        frame = self.sync.add(part, stamp, msg)
        if counters.ahead > before:
            self.log("warning", f"ahead:{part}",
                     f"{self.topics[part]}: header.stamp {stamp / 1e9:.2f} s is more than "
                     f"max_stamp_ahead_s={self.cfg.max_stamp_ahead_s} after the last frame "
                     f"({self.sync.last_stamp_ns / 1e9:.2f} s): kept apart, used only if its "
                     f"whole frame arrives ({counters.ahead} such parts so far)")
        if counters.stale + counters.duplicate > self._sync_reported:
            self._sync_reported = counters.stale + counters.duplicate
            self.log("warning", f"sync:{part}",
                     f"{self.topics[part]}: header.stamp out of order or duplicated; ignored "
                     f"the part (totals: {counters.stale} stale, {counters.duplicate} "
                     f"duplicate, {counters.incomplete} incomplete frames). Check the "
                     "bridge's clock and QoS; a restarted simulator is recognised by "
                     "/carla/status")
        if frame is not None:
            self._on_frame(frame)

    def _on_frame(self, frame) -> None:
        try:
            sensor = sensor_frame(frame.stamp_ns, frame.parts, frame.events, self.topics)
        except ValueError as exc:
            # the message names topic and field; first word = topic = the cause
            self.loop.refuse_frame(frame.stamp_ns, str(exc).split(":")[0], str(exc))
            return
        step = self.loop.on_frame(sensor)
        if step is not None and not step.done:
            self.loop.act(step)
        if step is not None and self.debug is not None:
            self.debug.publish(step, self._command, self.loop)

    def _on_lane_invasion(self, msg: CarlaLaneInvasionEvent) -> None:
        if GRASS in msg.crossed_lane_markings:
            self.sync.add_event("off_road")

    def _on_waypoints(self, msg: Path) -> None:
        topic = f"/carla/{self.cfg.role_name}/waypoints"
        try:
            points = path_points(msg, topic)
            self.loop.set_route(points[:, :2])
        except ValueError as exc:
            self.refused[topic] += 1
            self.log("error", "waypoints", f"{topic}: unusable route ({exc}); keeping the "
                     "previous one")
            return
        self._route_z = float(points[0, 2])

    def _on_carla_status(self, msg: CarlaStatus) -> None:
        """A frame counter that goes back is how a simulator announces its restart."""
        frame, last = int(msg.frame), self._sim_frame
        if last is not None and frame > last:
            dt = max(float(msg.fixed_delta_seconds), 1e-3) if np.isfinite(
                msg.fixed_delta_seconds) else 1e-3
            if frame - last > self.cfg.max_stamp_ahead_s / dt + 1:
                self._refuse("/carla/status", f"frame jumped ahead from {last} to {frame}, "
                             f"more than max_stamp_ahead_s={self.cfg.max_stamp_ahead_s}")
                return
        self._sim_frame = frame
        if last is not None and frame < last:
            self.sync.reset()
            self.loop.simulator_restarted(f"/carla/status: frame went back from {last} to "
                                          f"{frame}")

    def _on_weights(self, msg: PolicyWeights) -> None:
        previous = self.weights_gate.version
        try:
            policy = self.weights_gate.accept(msg)
        except PolicyError as exc:
            self.refused[stack.WEIGHTS_TOPIC] += 1
            # throttled per reason: one kind of bad weights must not hide another
            self.log("error", f"weights:{str(exc)[:24]}", f"{stack.WEIGHTS_TOPIC}: refused "
                     f"weights version "
                     f"{msg.version}: {exc}; acting with version {self.loop.policy_version}")
            return
        if msg.version < previous:
            self.log("warning", "weights_back", f"{stack.WEIGHTS_TOPIC}: version went back "
                     f"from {previous} to {msg.version}: a restarted learner; following it")
        self.loop.set_policy(policy, int(msg.version))

    def _on_status(self, msg: LearnerStatus) -> None:
        # a learner that stopped for good (divergence) must never leave the agent held
        if msg.stop_reason:
            self.log("warning", "learner_stopped", f"{stack.LEARNER_STATUS_TOPIC}: the "
                     f"learner stopped training ({msg.stop_reason}); driving on, experience "
                     "is no longer used")
        self.loop.learner_status(int(msg.steps_received), int(msg.steps_allowed),
                                 stopped=bool(msg.stop_reason))

    # --- AgentOutputs: what the loop asks for ----------------------------------------------
    def control(self, c: Control) -> None:
        cmd = self._command
        cmd.steer, cmd.throttle, cmd.brake = c.steer, c.throttle, c.brake
        cmd.header.stamp = Time(sec=c.stamp_ns // 1_000_000_000,
                                nanosec=c.stamp_ns % 1_000_000_000)
        self.control_pub.publish(cmd)

    def can_request_track(self) -> bool:
        return self.track_pub.get_subscription_count() > 0

    def request_track(self) -> None:
        self.track_pub.publish(UInt64(data=0))

    def teleport(self, x: float, y: float, yaw: float) -> None:
        pose = Pose(orientation=yaw_to_quaternion(yaw))
        pose.position.x, pose.position.y, pose.position.z = x, y, self._route_z
        self.reset_pub.publish(pose)

    def pause(self, paused: bool) -> None:
        self.sim_control_pub.publish(
            CarlaControl(command=CarlaControl.PAUSE if paused else CarlaControl.PLAY))

    def episode_end(self, r: EpisodeRecord) -> None:
        stats = episode_stats_msg(r)
        stats.header.stamp = self.get_clock().now().to_msg()
        self.stats_pub.publish(stats)
        self.log("info", "episode", f"episode {r.episode_id} ended ({r.reason}): return "
                 f"{r.episode_return:.2f}, {r.length} steps, route "
                 f"{100 * r.route_completion:.0f} %")

    def experience(self, batch) -> bool:
        if self.replay_pub.get_subscription_count() == 0:
            self.log("warning", "no_learner", f"no learner subscribed to {stack.REPLAY_TOPIC}: "
                     f"{self.loop.dropped_steps + len(batch)} steps dropped so far")
            return False
        msg = step_batch_to_msg(batch)
        msg.header.stamp = self.get_clock().now().to_msg()
        try:
            self.replay_pub.publish(msg)
        except RuntimeError as exc:   # rclpy's RCLError: e.g. the writer's history is full
            if not self.context.ok():
                raise
            self.log("error", "replay_publish",
                     f"{stack.REPLAY_TOPIC}: could not publish {len(batch)} steps ({exc}); "
                     f"{self.loop.dropped_steps + len(batch)} steps dropped so far (the "
                     "learner counts them as a gap)")
            return False
        return True

    def close(self) -> None:
        """Publish what is pending and leave the simulator running."""
        if self.context.ok():   # after Ctrl-C nothing can be published any more
            self.loop.close()


def main(args=None) -> int:
    return run_node(lambda: AgentNode(), args)
