"""sim_bridge: gymnasium CarRacing-v3 behind the carla-ros-bridge interface (docs/architecture.md).

Lockstep (``synchronous_mode``): each tick advances ``fixed_delta_seconds``, publishes that
frame stamped with sim time, then waits up to ``control_timeout_s`` (wall) for one
``vehicle_control_cmd``; on timeout it warns and ticks with the previous control. All of it
is event driven inside the executor: a command's callback or the timeout timer runs the
next tick, so there is no busy loop and no blocking wait in a callback. The first frame is
published once a controller is connected (a publisher on vehicle_control_cmd and a
subscriber to the camera or odometry), so that no run loses its first frames to discovery.

Deviations from the bridge, forced by CarRacing:
- ``control/set_transform`` does not teleport: any Pose starts the next episode of the seed
  schedule with the car at the new track's start (the pose's content is ignored). Like a
  CARLA teleport it takes effect at the next tick; the command that triggers that tick is
  consumed by the reset. The waypoints are republished stamped with the new episode's first
  frame.
- ``collision`` exists but never fires: CarRacing has no other actors or obstacles.
- ``lane_invasion`` reports marking 8 (grass) when the car leaves the road (no wheel on it).
- The episode's native score goes to ``/sim/<role>/episode_score`` when it ends (lap, leaving
  the playfield, frame limit) or is reset; ``auto_reset_ticks`` later, with no
  set_transform in between, the simulator starts the next episode itself.
"""

from __future__ import annotations

import math
import time

import numpy as np
from carla_msgs.msg import (
    CarlaCollisionEvent,
    CarlaControl,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleInfo,
    CarlaEgoVehicleStatus,
    CarlaLaneInvasionEvent,
    CarlaStatus,
)
from geometry_msgs.msg import Pose
from nav_msgs.msg import Odometry, Path
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float32, Header
from tf2_msgs.msg import TFMessage

from td3_driving.msg import EpisodeStats
from td3_driving.ros import qos
from td3_driving.ros import sim_messages as sm
from td3_driving.ros.image import array_to_image, rgb_to_bgra
from td3_driving.ros.params import declare_config
from td3_driving.ros.spin import run_node
from td3_driving.sim import carracing as cr
from td3_driving.sim.carracing import CarRacingSim, TickResult, resample_closed
from td3_driving.sim.config import PHYSICS_DT, SimBridgeConfig

_END_REASONS = {cr.END_LAP: EpisodeStats.REASON_ROUTE_COMPLETE,
                cr.END_PLAYFIELD: EpisodeStats.REASON_OFF_ROAD,
                cr.END_TIME_LIMIT: EpisodeStats.REASON_TIME_LIMIT}
# Valid ranges of CarlaEgoVehicleControl's float fields.
_CONTROL_RANGES = {"steer": (-1.0, 1.0), "throttle": (0.0, 1.0), "brake": (0.0, 1.0)}


class SimBridgeNode(Node):
    """Hosts one CarRacing-v3 ego vehicle on the carla-ros-bridge topics."""

    def __init__(self, **kwargs):
        super().__init__("sim_bridge", **kwargs)
        self.cfg = declare_config(self, SimBridgeConfig)
        cfg, role = self.cfg, self.cfg.role_name
        self._ns = f"/carla/{role}"
        self._sim = CarRacingSim(cfg.carracing, cfg.frames_per_tick)
        self._cam_ahead, self._cam_height = CarRacingSim.camera_mount(
            math.radians(cfg.camera_fov_deg))
        self._frame = 0
        self._control = (0.0, 0.0, 0.0)  # steer, throttle, brake as applied
        self._awaiting = self._paused = self._cmd_pending = self._reset_requested = False
        self._started = not cfg.synchronous_mode
        self._episode_id = -1
        self._ticks_since_end: int | None = None
        self._prev_vel = (np.zeros(2), 0.0)
        self._last_warn: dict[str, float] = {}
        self._make_interfaces()
        self._pending = self._new_episode()
        self._info_pub.publish(sm.vehicle_info(role, self._sim.vehicle_geometry()))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        if cfg.synchronous_mode:
            self._timeout = self.create_timer(cfg.control_timeout_s, self._on_timeout,
                                              self._group, clock=steady, autostart=False)
            self._gate = self.create_timer(0.05, self._check_controller, self._group,
                                           clock=steady)
            self.get_logger().info(f"lockstep: waiting for a controller on "
                                   f"{self._ns}/vehicle_control_cmd")
        else:
            self._publish_frame(self._pending)
            self._free = self.create_timer(cfg.fixed_delta_seconds / cfg.real_time_factor,
                                           self._on_free_tick, self._group, clock=steady)

    def _make_interfaces(self) -> None:
        ns, b = self._ns, qos.BRIDGE
        pub = self.create_publisher
        self._image_pub = pub(Image, f"{ns}/rgb_front/image", b)
        self._caminfo_pub = pub(CameraInfo, f"{ns}/rgb_front/camera_info", b)
        self._status_pub = pub(CarlaEgoVehicleStatus, f"{ns}/vehicle_status", b)
        self._info_pub = pub(CarlaEgoVehicleInfo, f"{ns}/vehicle_info", qos.BRIDGE_LATCHED)
        self._odom_pub = pub(Odometry, f"{ns}/odometry", b)
        self._speed_pub = pub(Float32, f"{ns}/speedometer", b)
        self._collision_pub = pub(CarlaCollisionEvent, f"{ns}/collision", b)  # never fires
        self._lane_pub = pub(CarlaLaneInvasionEvent, f"{ns}/lane_invasion", b)
        self._path_pub = pub(Path, f"{ns}/waypoints", qos.WAYPOINTS)
        self._tf_pub = pub(TFMessage, "/tf", 100)
        self._stats_pub = pub(EpisodeStats, f"/sim/{self.cfg.role_name}/episode_score",
                              qos.STATS)
        if self.cfg.owns_clock:
            self._clock_pub = pub(ClockMsg, "/clock", b)
            self._carla_status_pub = pub(CarlaStatus, "/carla/status", b)
        self._group = MutuallyExclusiveCallbackGroup()
        sub = self.create_subscription
        self._cmd_topic = f"{ns}/vehicle_control_cmd"
        sub(CarlaEgoVehicleControl, self._cmd_topic, self._on_command, b,
            callback_group=self._group)
        sub(Pose, f"{ns}/control/set_transform", self._on_set_transform, b,
            callback_group=self._group)
        sub(CarlaControl, "/carla/control", self._on_carla_control, b,
            callback_group=self._group)

    # --- inputs --------------------------------------------------------------------------
    def _warn(self, key: str, text: str, period_s: float = 5.0) -> None:
        """A warning throttled per ``key`` (rclpy throttles per call site, not per cause)."""
        now = time.monotonic()
        if now - self._last_warn.get(key, -math.inf) >= period_s:
            self._last_warn[key] = now
            self.get_logger().warning(text)

    def _sanitize(self, msg: CarlaEgoVehicleControl) -> tuple[float, float, float] | None:
        """Clamp out-of-range fields, reject non-finite ones; warnings name the field."""
        values = {name: float(getattr(msg, name)) for name in _CONTROL_RANGES}
        bad = [f"{k}={v}" for k, v in values.items() if not math.isfinite(v)]
        if bad:
            self._warn("nonfinite", f"{self._cmd_topic}: rejected command with non-finite "
                       f"{', '.join(bad)}; keeping the previous control")
            return None
        for name, (lo, hi) in _CONTROL_RANGES.items():
            v = values[name]
            values[name] = min(max(v, lo), hi)
            if values[name] != v:
                self._warn(name, f"{self._cmd_topic}: {name}={v} outside [{lo}, {hi}], "
                           f"clamped to {values[name]}")
        if msg.hand_brake:  # CarRacing brakes all wheels; full brake locks them like a handbrake
            values["brake"] = 1.0
        if msg.reverse:
            self._warn("reverse", f"{self._cmd_topic}: reverse=true is not supported "
                       "(CarRacing has no reverse gear); driving forward")
        return values["steer"], values["throttle"], values["brake"]

    def _on_command(self, msg: CarlaEgoVehicleControl) -> None:
        control = self._sanitize(msg)
        if control is not None:
            self._control = control
        if not self.cfg.synchronous_mode or not self._started:
            return
        if self._paused:
            self._cmd_pending = True
        elif self._awaiting:  # a rejected command still answers the frame
            self._advance()

    def _on_set_transform(self, _pose: Pose) -> None:
        self._reset_requested = True

    def _on_carla_control(self, msg: CarlaControl) -> None:
        if msg.command == CarlaControl.PAUSE:
            self._paused = True
        elif msg.command == CarlaControl.PLAY:
            self._paused = False
            if self._cmd_pending and self._awaiting:
                self._advance()
            elif self.cfg.synchronous_mode and self._started:
                self._timeout.reset()
        elif msg.command == CarlaControl.STEP_ONCE:
            if self._paused and self._started:
                self._advance()
        else:
            self._warn("carla_control", f"/carla/control: unknown command={msg.command} "
                       f"(PLAY=0, PAUSE=1, STEP_ONCE=2)")

    # --- ticking -------------------------------------------------------------------------
    def _check_controller(self) -> None:
        connected = self.count_publishers(self._cmd_topic) > 0 and (
            self._image_pub.get_subscription_count() > 0
            or self._odom_pub.get_subscription_count() > 0)
        if connected:
            self._gate.cancel()
            self._started = True
            self.get_logger().info("controller connected: lockstep running")
            self._publish_frame(self._pending)
            self._awaiting = True
            self._timeout.reset()

    def _on_timeout(self) -> None:
        if self._awaiting and not self._paused:
            self._warn("timeout", f"no command on {self._cmd_topic} within "
                       f"{self.cfg.control_timeout_s} s: ticking with the previous control")
            self._advance()

    def _on_free_tick(self) -> None:
        if not self._paused:
            self._advance()

    def _advance(self) -> None:
        """Run one tick (or the pending reset) and publish the frame it produced."""
        self._unless_shut_down(self._tick_and_publish)

    def _unless_shut_down(self, fn) -> None:
        try:
            fn()
        except Exception:
            if self.context.ok():
                raise
            # Ctrl-C shut the context down meanwhile: nothing left to publish to.

    def _tick_and_publish(self) -> None:
        self._cmd_pending = False
        auto = (self._ticks_since_end is not None and self.cfg.auto_reset_ticks
                and self._ticks_since_end >= self.cfg.auto_reset_ticks)
        if self._reset_requested or auto:
            result = self._new_episode()
        else:
            self._frame += 1
            result = self._sim.tick(*self._control)
            if result.end_reason:
                self._publish_stats(_END_REASONS[result.end_reason])
                self._ticks_since_end = 0
            elif self._ticks_since_end is not None:
                self._ticks_since_end += 1
        self._publish_frame(result)
        if self.cfg.synchronous_mode:
            self._awaiting = True
            self._timeout.reset()

    def _new_episode(self) -> TickResult:
        if self._episode_id >= 0 and self._ticks_since_end is None:
            self._publish_stats(EpisodeStats.REASON_SIM_RESET)
        self._reset_requested = False
        self._ticks_since_end = None
        self._episode_id += 1
        self._frame += 1
        result = self._sim.reset()
        self._control = (0.0, 0.0, 0.0)
        self._prev_vel = (np.array(result.state.vel_map), result.state.yaw_rate)
        wps = resample_closed(self._sim.centerline(), self.cfg.waypoint_spacing_m)
        self._path_pub.publish(sm.waypoints_path(self._header("map"), wps))
        self.get_logger().info(f"episode {self._episode_id}: track seed {self._sim.seed}, "
                               f"{len(wps)} waypoints")
        return result

    # --- outputs -------------------------------------------------------------------------
    def _sim_time(self) -> float:
        return self._frame * self.cfg.fixed_delta_seconds

    def _header(self, frame_id: str) -> Header:
        return Header(stamp=sm.sim_stamp(self._sim_time()), frame_id=frame_id)

    def _publish_frame(self, r: TickResult) -> None:
        cfg, role, s = self.cfg, self.cfg.role_name, r.state
        stamp = sm.sim_stamp(self._sim_time())
        cam = Header(stamp=stamp, frame_id=f"{role}/rgb_front")
        self._image_pub.publish(array_to_image(rgb_to_bgra(r.image), "bgra8", cam))
        h, w = r.image.shape[:2]
        self._caminfo_pub.publish(sm.camera_info(cam, w, h, math.radians(cfg.camera_fov_deg)))
        map_header = Header(stamp=stamp, frame_id="map")
        vel, yaw_rate = np.array(s.vel_map), s.yaw_rate
        dt = cfg.fixed_delta_seconds
        accel, yaw_accel = (vel - self._prev_vel[0]) / dt, (yaw_rate - self._prev_vel[1]) / dt
        self._prev_vel = (vel, yaw_rate)
        applied = sm.control_msg(map_header, *self._control)
        self._status_pub.publish(sm.vehicle_status(map_header, s, accel, yaw_accel, applied))
        self._speed_pub.publish(Float32(data=float(s.vx)))
        if r.left_track:
            self._lane_pub.publish(CarlaLaneInvasionEvent(
                header=map_header, crossed_lane_markings=[sm.LANE_MARKING_GRASS]))
        self._tf_pub.publish(sm.transforms(stamp, role, s, self._cam_ahead, self._cam_height))
        if cfg.owns_clock:
            self._clock_pub.publish(ClockMsg(clock=stamp))
            self._carla_status_pub.publish(CarlaStatus(
                frame=self._frame, fixed_delta_seconds=dt,
                synchronous_mode=cfg.synchronous_mode,
                synchronous_mode_running=not self._paused))
        # Last: a controller that reacts to odometry has the rest of the frame already.
        self._odom_pub.publish(sm.odometry(map_header, role, s))

    def _publish_stats(self, reason: int) -> None:
        summ = self._sim.summary()
        self._stats_pub.publish(EpisodeStats(
            header=self._header("map"), agent_id=self.cfg.role_name,
            episode_id=self._episode_id, episode_return=math.nan, length=summ.ticks,
            termination_reason=reason, native_score=summ.native_score,
            route_completion=summ.route_completion,
            sim_time=summ.frames * PHYSICS_DT))
        self.get_logger().info(f"episode {self._episode_id} (seed {summ.seed}) ended: native "
                               f"score {summ.native_score:.1f}, route "
                               f"{100 * summ.route_completion:.1f} %, reason {reason}")

    def close(self) -> None:
        """Report the unfinished episode (if the graph is still up) and free the env."""
        if self.context.ok() and self._started and self._ticks_since_end is None:
            self._unless_shut_down(lambda: self._publish_stats(EpisodeStats.REASON_SHUTDOWN))
        self._sim.close()


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: SimBridgeNode(), args)


if __name__ == "__main__":
    raise SystemExit(main())
