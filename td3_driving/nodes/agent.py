"""The agent node: one vehicle's camera and state in, one control command per tick out.

Subscribes the vehicle's carla-ros-bridge topics, assembles each tick's messages by stamp,
builds the Dict observation and the reward with the ROS-free DrivingTask, acts with the
TD3 actor (warm-up random actions and Gaussian noise in 'train' mode), publishes exactly
one CarlaEgoVehicleControl per frame, and in 'train' mode sends experience batches to the
learner and hot-swaps the weights it publishes. In 'drive' mode it acts deterministically
with a policy artifact and sends nothing to a learner.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from carla_msgs.msg import (
    CarlaCollisionEvent,
    CarlaControl,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleStatus,
    CarlaLaneInvasionEvent,
)
from geometry_msgs.msg import Pose
from nav_msgs.msg import Odometry, Path
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float32
from visualization_msgs.msg import Marker

from td3_driving.bringup import stack
from td3_driving.core.actions import to_vehicle_control
from td3_driving.core.agent_config import AgentConfig
from td3_driving.core.config import ActionConfig, ObservationConfig
from td3_driving.core.experience import ExperienceRecorder
from td3_driving.core.policy import Policy, PolicyError
from td3_driving.msg import EpisodeStats, ExperienceBatch, LearnerStatus, PolicyWeights
from td3_driving.ros import qos
from td3_driving.ros.bridge import (
    GRASS,
    REASONS,
    applied_control,
    odometry_pose,
    path_points,
    stamp_ns,
)
from td3_driving.ros.experience_msg import step_batch_to_msg
from td3_driving.ros.frame_sync import FrameAssembler
from td3_driving.ros.image import array_to_image, image_to_rgb
from td3_driving.ros.params import declare_config
from td3_driving.ros.spin import run_node
from td3_driving.ros.weights import WeightsGate
from td3_driving.task.driving import (
    DRIVING_OBSERVATION,
    DrivingTask,
    Observation,
    VehicleState,
)
from td3_driving.task.reward import RewardConfig

ACTION_SIZE = 2  # (steer, accel) in [-1, 1]
# How often (steady clock) a frame held back for the learner is re-checked: a learner that
# died while the agent waited sends no status that would release it (the simulator is
# paused meanwhile, so no new frame would either).
HOLD_CHECK_S = 0.5


class AgentNode(Node):
    """One vehicle's agent; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__("agent", **kwargs)
        self.cfg: AgentConfig = declare_config(self, AgentConfig)
        obs_cfg = declare_config(self, ObservationConfig, "observation", DRIVING_OBSERVATION)
        self.action_cfg = declare_config(self, ActionConfig, "action")
        reward_cfg = declare_config(self, RewardConfig, "reward")
        self.training = self.cfg.mode == "train"
        self.policy: Policy | None = None
        self.policy_version = 0
        if self.cfg.policy_file:
            self.policy = Policy.load(self.cfg.policy_file, threads=self.cfg.torch_threads)
            if self.training and self.policy.observation != obs_cfg:
                # Start weights must fit the learner's networks, whose observation config
                # is this agent's (both read the same params file).
                raise PolicyError(f"{self.cfg.policy_file}: trained with another observation "
                                  f"config ({_differences(self.policy.observation, obs_cfg)}); "
                                  "in 'train' mode start weights must match the observation.* "
                                  "parameters: use a matching params file or no policy_file")
            obs_cfg, self.action_cfg = self.policy.observation, self.policy.action
        elif not self.training:
            raise PolicyError("mode 'drive' needs policy_file:=<policy.safetensors>")
        self.task = DrivingTask(obs_cfg, reward_cfg)
        self.rng = np.random.default_rng(self.cfg.seed)
        # A restarted agent must not reuse its predecessor's sequence numbers.
        self.agent_id = f"{self.cfg.role_name}:{self.rng.integers(1 << 32):08x}"
        self.recorder = ExperienceRecorder(self.agent_id, ACTION_SIZE)
        self.weights_gate = WeightsGate(obs_cfg, self.cfg.torch_threads)
        self.sync = FrameAssembler(("image", "odometry", "status"))
        self._sync_reported = 0   # stale + duplicate parts already logged
        self._last_log: dict[str, float] = {}
        self._init_episode_state()
        self._create_interfaces()
        self.create_timer(HOLD_CHECK_S, self._check_held_frame,
                          clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"agent {self.agent_id} in '{self.cfg.mode}' mode on /carla/{self.cfg.role_name}"
            + (f" with {self.cfg.policy_file}" if self.cfg.policy_file else ""))

    def _init_episode_state(self) -> None:
        self.phase = "reset"          # reset -> running -> reset ...
        self.settle = self.cfg.settle_ticks
        self.route_fresh = False
        self.route_points = None
        self.last_action = np.zeros(ACTION_SIZE, np.float32)
        self.episode_return = 0.0
        self.episode_steps = 0
        self.episode_start_ns = 0
        self.steps_since_status = 0
        self.status: LearnerStatus | None = None
        self.status_wall = 0.0
        self.held_frame = None
        self.paused_sim = False
        self.dropped_steps = 0
        self.episodes = 0

    def _create_interfaces(self) -> None:
        ns = self.ns = f"/carla/{self.cfg.role_name}"
        self.topics = {"image": f"{ns}/rgb_front/image", "odometry": f"{ns}/odometry",
                       "status": f"{ns}/vehicle_status"}
        sub = self.create_subscription
        sub(Image, f"{ns}/rgb_front/image", lambda m: self._part("image", m), qos.BRIDGE)
        sub(Odometry, f"{ns}/odometry", lambda m: self._part("odometry", m), qos.BRIDGE)
        sub(CarlaEgoVehicleStatus, f"{ns}/vehicle_status", lambda m: self._part("status", m),
            qos.BRIDGE)
        sub(CarlaCollisionEvent, f"{ns}/collision",
            lambda m: self.sync.add_event("collision", m), qos.BRIDGE)
        sub(CarlaLaneInvasionEvent, f"{ns}/lane_invasion",
            lambda m: self.sync.add_event("lane_invasion", m), qos.BRIDGE)
        sub(Path, f"{ns}/waypoints", self._on_waypoints, qos.WAYPOINTS)
        self.control_pub = self.create_publisher(CarlaEgoVehicleControl,
                                                 f"{ns}/vehicle_control_cmd", qos.BRIDGE)
        self.reset_pub = self.create_publisher(Pose, f"{ns}/control/set_transform", qos.BRIDGE)
        self.sim_control_pub = self.create_publisher(CarlaControl, "/carla/control", qos.BRIDGE)
        self.stats_pub = self.create_publisher(EpisodeStats, stack.EPISODE_STATS_TOPIC,
                                               qos.STATS)
        if self.training:
            self.replay_pub = self.create_publisher(ExperienceBatch, stack.REPLAY_TOPIC,
                                                    qos.REPLAY)
            sub(PolicyWeights, stack.WEIGHTS_TOPIC, self._on_weights, qos.WEIGHTS)
            sub(LearnerStatus, stack.LEARNER_STATUS_TOPIC, self._on_status, qos.STATS)
        if self.cfg.publish_debug:
            self.obs_pub = self.create_publisher(Image, "~/observation", qos.BRIDGE)
            self.action_pub = self.create_publisher(CarlaEgoVehicleControl, "~/action",
                                                    qos.BRIDGE)
            self.reward_pub = self.create_publisher(Float32, "~/reward", qos.BRIDGE)
            self.marker_pub = self.create_publisher(Marker, "~/status_marker", qos.BRIDGE)

    # --- inputs -------------------------------------------------------------------------

    def _part(self, part: str, msg) -> None:
        stamp = stamp_ns(msg.header.stamp)
        if self.sync.last_stamp_ns - stamp > self.cfg.restart_jump_s * 1e9:
            jump = (self.sync.last_stamp_ns - stamp) / 1e9
            self.get_logger().warning(f"{self.topics[part]}: header.stamp jumped back "
                                      f"{jump:.2f} s: simulator "
                                   "restarted; truncating the episode")
            self._end_episode("sim_reset", frame=None)
            self.sync.reset()
        frame = self.sync.add(part, stamp, msg)
        self._report_sync(part)
        if frame is not None:
            self._on_frame(frame)

    def _report_sync(self, part: str) -> None:
        """Out-of-order and duplicate parts are ignored, but never silently."""
        c = self.sync.counters
        if c.stale + c.duplicate > self._sync_reported:
            self._sync_reported = c.stale + c.duplicate
            self._log_per_cause(
                False, f"sync:{part}",
                f"{self.topics[part]}: header.stamp out of order or duplicated; ignored the "
                f"part (totals: {c.stale} stale, {c.duplicate} duplicate, {c.incomplete} "
                "incomplete frames). Check the bridge's clock and QoS.")

    def _log_per_cause(self, error: bool, cause: str, text: str, period_s: float = 5.0) -> None:
        """Throttled per cause (rclpy throttles per call site: one cause would hide another)."""
        now = time.monotonic()
        if now - self._last_log.get(cause, -period_s) < period_s:
            return
        self._last_log[cause] = now
        if error:
            self.get_logger().error(text)
        else:
            self.get_logger().warning(text)

    def _on_waypoints(self, msg: Path) -> None:
        try:
            points = path_points(msg)
            self.task.set_route(points)
        except ValueError as exc:
            self.get_logger().error(f"/carla/{self.cfg.role_name}/waypoints: unusable route "
                                    f"({exc}); keeping the previous one")
            return
        self.route_fresh = True

    def _on_weights(self, msg: PolicyWeights) -> None:
        previous = self.weights_gate.version
        try:
            policy = self.weights_gate.accept(msg)
        except PolicyError as exc:
            self.get_logger().error(f"{stack.WEIGHTS_TOPIC}: refused weights version "
                                    f"{msg.version}: {exc}")
            return
        if msg.version < previous:
            self.get_logger().warning(f"{stack.WEIGHTS_TOPIC}: version went back from {previous}"
                                   f" to {msg.version}: a restarted learner; following it")
        # Swapped between two frames: the next action uses the new version entirely.
        self.policy, self.policy_version = policy, int(msg.version)

    def _on_status(self, msg: LearnerStatus) -> None:
        self.status = msg
        self.status_wall = time.monotonic()
        self.steps_since_status = 0
        if self.held_frame is not None and not self._throttled():
            frame, self.held_frame = self.held_frame, None
            self._set_paused(False)
            self._on_frame(frame)

    def _check_held_frame(self) -> None:
        if self.held_frame is not None and not self._throttled():
            self.get_logger().warning(f"no {stack.LEARNER_STATUS_TOPIC} for "
                                   f"{self.cfg.learner_timeout_s} s while held back: learner "
                                   "gone? driving on; experience is counted as dropped "
                                   "until it returns")
            frame, self.held_frame = self.held_frame, None
            self._set_paused(False)
            self._on_frame(frame)

    # --- the per-frame step -------------------------------------------------------------

    def _throttled(self) -> bool:
        if not self.training or self.status is None:
            return False
        if time.monotonic() - self.status_wall > self.cfg.learner_timeout_s:
            return False   # no learner: keep driving; experience is counted as dropped
        budget = int(self.status.steps_allowed) - int(self.status.steps_received)
        return self.steps_since_status >= budget

    def _set_paused(self, paused: bool) -> None:
        if self.cfg.pause_when_throttled and paused != self.paused_sim:
            self.sim_control_pub.publish(
                CarlaControl(command=CarlaControl.PAUSE if paused else CarlaControl.PLAY))
            self.paused_sim = paused

    def _on_frame(self, frame) -> None:
        if self.phase == "running" and self._throttled():
            self.held_frame = frame   # acted on when the learner has caught up
            self._set_paused(True)
            return
        odom, status = frame.parts["odometry"], frame.parts["status"]
        try:
            x, y, yaw, speed = odometry_pose(odom, self.topics["odometry"])
            steer, throttle, brake = applied_control(status, self.topics["status"])
            state = VehicleState(x, y, yaw, speed, steer, throttle, brake)
            image = image_to_rgb(frame.parts["image"], self.topics["image"])
            state.check()
        except ValueError as exc:
            # the message names topic and field; first word = topic = the cause
            self._log_per_cause(True, str(exc).split(":")[0],
                                f"bad frame at {frame.stamp_ns / 1e9:.2f} s: {exc}; frame "
                                "skipped (no experience from it), holding the previous control",
                                period_s=2.0)
            self._publish_control(self.last_action)
            return
        if self.phase == "reset":
            self._step_reset(frame, image, state)
        else:
            self._step_running(frame, image, state)

    def _step_reset(self, frame, image, state: VehicleState) -> None:
        waiting_route = self.cfg.new_route_on_reset and not self.route_fresh
        if self.settle > 0 or waiting_route or self.task.route is None:
            self.settle = max(0, self.settle - 1)
            self._publish_control(np.array([0.0, -1.0], np.float32))   # hold still
            return
        obs = self.task.begin(image, state)
        self.phase = "running"
        self.episode_return, self.episode_steps = 0.0, 0
        self.episode_start_ns = frame.stamp_ns
        if self.training:
            self.recorder.begin_episode(obs.frame, obs.vector, self.policy_version)
        self._act(obs)

    def _step_running(self, frame, image, state: VehicleState) -> None:
        markings = [m for ev in frame.events.get("lane_invasion", [])
                    for m in ev.crossed_lane_markings]
        obs, outcome = self.task.step(image, state, off_road_event=GRASS in markings,
                                      collision=bool(frame.events.get("collision")))
        self.episode_return += outcome.reward
        self.episode_steps += 1
        if self.training:
            self.recorder.step(obs.frame, obs.vector, self.last_action, outcome.reward,
                               outcome.terminated, outcome.truncated, self.policy_version)
            self.steps_since_status += 1
        if self.cfg.publish_debug:
            self.reward_pub.publish(Float32(data=float(outcome.reward)))
        if outcome.terminated or outcome.truncated:
            self._end_episode(outcome.reason, frame)
            self._publish_control(np.array([0.0, -1.0], np.float32))
        else:
            self._act(obs)
        self._flush(force=False)

    def _act(self, obs: Observation) -> None:
        if self.policy is None:
            action = self.rng.uniform(-1.0, 1.0, ACTION_SIZE).astype(np.float32)   # warm-up
        else:
            action = self.policy.act(obs.as_dict())
            if self.training and self.cfg.exploration_noise > 0:
                noise = self.rng.normal(0.0, self.cfg.exploration_noise, ACTION_SIZE)
                action = np.clip(action + noise, -1.0, 1.0).astype(np.float32)
        self.last_action = np.asarray(action, np.float32)
        self._publish_control(self.last_action)
        if self.cfg.publish_debug:
            self._publish_marker()
            self.obs_pub.publish(array_to_image(obs.frame[-1], "mono8")
                                 if obs.frame.shape[0] == 1 else
                                 array_to_image(np.moveaxis(obs.frame, 0, 2), "rgb8"))

    def _publish_marker(self) -> None:
        """Action and return so far as text above the vehicle, for rviz2."""
        m = Marker(type=Marker.TEXT_VIEW_FACING, action=Marker.ADD, ns="agent", id=0)
        m.header.frame_id = self.cfg.role_name
        m.pose.position.z = 4.0
        m.pose.orientation.w = 1.0
        m.scale.z = 2.0
        m.color.r = m.color.g = m.color.b = m.color.a = 1.0
        steer, accel = self.last_action
        m.text = (f"steer {steer:+.2f} accel {accel:+.2f} | return {self.episode_return:.1f}"
                  f" | v{self.policy_version}")
        self.marker_pub.publish(m)

    def _publish_control(self, action: np.ndarray) -> None:
        steer, throttle, brake = to_vehicle_control(action, self.action_cfg)
        msg = CarlaEgoVehicleControl(steer=float(steer), throttle=float(throttle),
                                     brake=float(brake), gear=1)
        msg.header.stamp = self.get_clock().now().to_msg()
        self.control_pub.publish(msg)
        if self.cfg.publish_debug:
            self.action_pub.publish(msg)

    def _end_episode(self, reason: str, frame, request_reset: bool = True) -> None:
        if self.phase != "running":
            return
        if self.training and frame is None:
            # cut from outside (simulator restart, shutdown): bootstrap from the last step
            self.recorder.truncate_last()
        stats = EpisodeStats(
            agent_id=self.agent_id, episode_id=self.episodes, policy_version=self.policy_version,
            evaluation=not self.training, episode_return=self.episode_return,
            length=self.episode_steps, native_score=float("nan"),
            termination_reason=REASONS.get(reason, EpisodeStats.REASON_UNKNOWN),
            route_completion=self.task.route_completion)
        self.episodes += 1
        if frame is not None:
            stats.sim_time = (frame.stamp_ns - self.episode_start_ns) / 1e9
        stats.header.stamp = self.get_clock().now().to_msg()
        self.stats_pub.publish(stats)
        self.get_logger().info(f"episode {stats.episode_id} ended ({reason}): return "
                               f"{self.episode_return:.2f}, {self.episode_steps} steps, route "
                               f"{100 * stats.route_completion:.0f} %")
        self._flush(force=True)
        self.phase, self.settle, self.route_fresh = "reset", self.cfg.settle_ticks, False
        if request_reset:
            self.reset_pub.publish(Pose())

    def _flush(self, force: bool) -> None:
        # the newest step stays behind until the next one or the episode's end, so that an
        # episode cut from outside can still flag it truncated
        if not self.training or (not force and self.recorder.pending() <= self.cfg.batch_steps):
            return
        batch = self.recorder.flush(keep_last=not force)
        if batch is None:
            return
        if self.replay_pub.get_subscription_count() == 0:
            self.dropped_steps += len(batch.sequence)
            self.get_logger().warning(f"no learner subscribed to {stack.REPLAY_TOPIC}: "
                                   f"{self.dropped_steps} steps dropped so far",
                                   throttle_duration_sec=10.0)
            return
        msg = step_batch_to_msg(batch)
        msg.header.stamp = self.get_clock().now().to_msg()
        try:
            self.replay_pub.publish(msg)
        except RuntimeError as exc:   # rclpy's RCLError: e.g. the writer's history is full
            if not self.context.ok():
                raise
            self.dropped_steps += len(batch.sequence)
            self._log_per_cause(True, "replay_publish",
                                f"{stack.REPLAY_TOPIC}: could not publish {len(batch.sequence)} "
                                f"steps ({exc}); {self.dropped_steps} steps dropped so far "
                                "(the learner counts them as a gap)")

    def close(self) -> None:
        """Publish what is pending and leave the simulator running."""
        if not self.context.ok():
            return   # Ctrl-C already shut the context down: nothing can be published
        if self.phase == "running":
            self._end_episode("shutdown", frame=None, request_reset=False)
        self._set_paused(False)


def _differences(theirs, ours) -> str:
    """'field: theirs vs ours' for every field of two configs of one dataclass that differ."""
    return ", ".join(f"{f.name}: {getattr(theirs, f.name)!r} in the file vs "
                     f"{getattr(ours, f.name)!r} here" for f in dataclasses.fields(ours)
                     if getattr(theirs, f.name) != getattr(ours, f.name))


def main(args=None) -> int:
    return run_node(lambda: AgentNode(), args)
