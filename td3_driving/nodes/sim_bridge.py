"""sim_bridge: the embedded CarRacing simulator behind the carla-ros-bridge interface.

A thin adapter: when to tick is td3_driving.sim.lockstep, the world (tracks, teleports,
autopilot, episodes) is td3_driving.sim.world, and the rules for every input are
td3_driving.sim.inputs. docs/carla_bridge.md lists each topic and parameter of the real
bridge and how ours compares. Every callback runs in one mutually exclusive group, so the
state machine sees one event at a time; no input can raise out of a callback: a refused
message is counted per topic and field and logged at most once per 5 s per cause.
"""

from __future__ import annotations

from collections import Counter

import rclpy.logging
from carla_msgs.msg import CarlaControl, CarlaEgoVehicleControl, CarlaWeatherParameters
from geometry_msgs.msg import Pose, Twist
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from std_msgs.msg import Bool, UInt64

from td3_driving.ros import qos
from td3_driving.ros import sim_messages as sm
from td3_driving.ros.log_throttle import ThrottledLogger
from td3_driving.ros.params import declare_config
from td3_driving.ros.sim_publishers import BridgePublishers, wanted
from td3_driving.ros.spin import run_node
from td3_driving.sim import inputs, world
from td3_driving.sim.config import SimBridgeConfig
from td3_driving.sim.lockstep import Lockstep, Verdict


class SimBridgeNode(Node):
    """Hosts one CarRacing-v3 ego vehicle on the carla-ros-bridge topics."""

    def __init__(self, **kwargs):
        super().__init__("sim_bridge", **kwargs)
        self.cfg = cfg = declare_config(self, SimBridgeConfig)
        self._ns = f"/carla/{cfg.role_name}"
        self._world = world.BridgeWorld(cfg, bgra=True)
        self._lockstep = Lockstep(cfg.synchronous_mode
                                  and cfg.synchronous_mode_wait_for_vehicle_control_command)
        self.refused: Counter[tuple[str, str]] = Counter()
        self._log = ThrottledLogger(self.get_logger(), 5.0)
        self._group = MutuallyExclusiveCallbackGroup()
        self._pub = BridgePublishers(self, cfg)
        self._make_subscriptions()
        self._first: world.Frame | None = self._world.start()
        self._pub.vehicle(self._world.vehicle())
        self._pub.frame(self._first, sensors=False)
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        if self._lockstep.wait_for_command:
            self._timeout = self.create_timer(cfg.control_timeout_s, self._on_timeout,
                                              self._group, clock=steady, autostart=False)
            self._gate = self.create_timer(0.05, self._check_controller, self._group,
                                           clock=steady)
            self.get_logger().info(f"lockstep: waiting for a controller on "
                                   f"{self._ns}/vehicle_control_cmd")
        else:
            self._start_frames()
            self.create_timer(cfg.fixed_delta_seconds / cfg.real_time_factor, self._on_clock,
                              self._group, clock=steady)

    def _make_subscriptions(self) -> None:
        ns, role, b = self._ns, self.cfg.role_name, qos.BRIDGE
        for msg_type, topic, handler, profile in (
                (CarlaEgoVehicleControl, f"{ns}/vehicle_control_cmd",
                 lambda m: self._on_command(m, manual=False), b),
                (CarlaEgoVehicleControl, f"{ns}/vehicle_control_cmd_manual",
                 lambda m: self._on_command(m, manual=True), b),
                (Bool, f"{ns}/vehicle_control_manual_override", self._on_override,
                 qos.MANUAL_OVERRIDE),
                (Bool, f"{ns}/enable_autopilot", self._on_autopilot, b),
                (Pose, f"{ns}/control/set_transform", self._on_set_transform, b),
                (Twist, f"{ns}/control/set_target_velocity", self._on_target_velocity, b),
                (UInt64, f"/sim/{role}/next_track", self._on_next_track, b),
                (CarlaWeatherParameters, "/carla/weather_control", self._on_weather, b),
                *([(CarlaControl, "/carla/control", self._on_carla_control, b)]
                  if self.cfg.synchronous_mode else [])):
            self.create_subscription(msg_type, topic, self._guarded(topic, handler), profile,
                                     callback_group=self._group,
                                     event_callbacks=qos.NO_EVENTS_SUB)

    # --- inputs --------------------------------------------------------------------------
    def _guarded(self, topic: str, handler):
        def callback(msg) -> None:
            try:
                handler(msg)
            except inputs.Refused as e:
                self._refuse(topic, e.field, e.reason)
            except Exception as e:  # noqa: BLE001  a peer's message must not end the simulator
                if self.context.ok():
                    self._refuse(topic, type(e).__name__, f"could not be handled: {e}")
        return callback

    def _refuse(self, topic: str, field: str, reason: str) -> None:
        self.refused[(topic, field)] += 1
        self._log.warning((topic, field), f"{topic}: refused a message, {field}: {reason} "
                          f"({self.refused[(topic, field)]} refused for this cause so far)")

    def _on_command(self, msg: CarlaEgoVehicleControl, manual: bool) -> None:
        cmd = inputs.vehicle_control(msg)
        controls, topic = self._world.controls, self._ns + "/vehicle_control_cmd"
        if manual != controls.manual_override:
            return  # the bridge applies one of the two topics, by the override switch
        verdict = self._lockstep.on_command(cmd.stamp_ns)
        if verdict is Verdict.FUTURE:
            raise inputs.Refused("header.stamp", f"{cmd.stamp_ns} ns answers no frame yet "
                                 f"(current frame {self._lockstep.frame_stamp_ns} ns)")
        if verdict is Verdict.STALE:
            n = self._lockstep.counters.stale_commands
            self._log.warning("stale", f"{topic}: command for frame {cmd.stamp_ns} ns arrived "
                              f"after frame {self._lockstep.frame_stamp_ns} ns was out; "
                              f"ignored ({n} so far); the controller is slower than "
                              "control_timeout_s")
            return
        for note in cmd.notes:
            self._log.warning(note.split("=")[0], f"{topic}: {note}")
        if manual:
            controls.manual = cmd.control
        else:
            controls.command = cmd.control
        if verdict is Verdict.TICK:
            self._tick()

    def _on_override(self, msg: Bool) -> None:
        self._world.controls.manual_override = bool(msg.data)

    def _on_autopilot(self, msg: Bool) -> None:
        self._world.controls.autopilot = bool(msg.data)
        self.get_logger().info(f"autopilot {'on' if msg.data else 'off'}")

    def _on_set_transform(self, msg: Pose) -> None:
        self._world.request_teleport(inputs.pose(msg))

    def _on_target_velocity(self, msg: Twist) -> None:
        self._world.request_velocity(inputs.twist(msg))

    def _on_next_track(self, msg: UInt64) -> None:
        self._world.request_track(inputs.track_seed(msg))

    def _on_weather(self, msg: CarlaWeatherParameters) -> None:
        raise inputs.Refused("weather", "CarRacing's renderer has no weather, light or "
                             "wetness; the message changes nothing")

    def _on_carla_control(self, msg: CarlaControl) -> None:
        command, ls = inputs.carla_control(msg), self._lockstep
        if command == CarlaControl.PAUSE:
            ls.pause()
        elif command == CarlaControl.PLAY:
            if ls.play():
                self._tick()
            elif ls.awaiting:
                self._timeout.reset()
        elif ls.step_once():
            self._tick()

    # --- ticking -------------------------------------------------------------------------
    def _check_controller(self) -> None:
        if self.count_publishers(f"{self._ns}/vehicle_control_cmd") > 0 and (
                wanted(self._pub.image) or wanted(self._pub.odom)):
            # destroyed, not cancelled: every executor turn walks the node's timers
            self.destroy_timer(self._gate)
            self.get_logger().info("controller connected: lockstep running")
            self._start_frames()

    def _start_frames(self) -> None:
        first, self._first = self._first, None
        self._pub.sensors(first)
        self._lockstep.published(round(first.sim_time * 1e9))
        if self._lockstep.wait_for_command:
            self._timeout.reset()

    def _on_timeout(self) -> None:
        if self._lockstep.on_timeout():
            self._log.warning("timeout", f"no command on {self._ns}/vehicle_control_cmd "
                              f"within {self.cfg.control_timeout_s} s: ticking with the "
                              "previous control")
            self._tick()

    def _on_clock(self) -> None:
        if self._first is None and self._lockstep.on_clock():
            self._tick()

    def _tick(self) -> None:
        try:
            frame = self._world.tick(render=wanted(self._pub.image))
            self._pub.frame(frame, sensors=True, paused=self._lockstep.paused)
        except Exception:
            if self.context.ok():
                raise
            return  # Ctrl-C shut the context down meanwhile: nothing left to publish to
        self._lockstep.published(round(frame.sim_time * 1e9))
        if self._lockstep.wait_for_command:
            self._timeout.reset()

    def close(self) -> None:
        """Report the unfinished episode (if the graph is still up) and free the env."""
        end = self._world.finish() if self._first is None else None
        if end is not None and self.context.ok():
            try:
                self._pub.episode_end(end, sm.sim_stamp(self._world.frame
                                                        * self.cfg.fixed_delta_seconds))
            except Exception:  # noqa: BLE001  the graph went down meanwhile
                pass
        c = self._lockstep.counters
        # after Ctrl-C the context is down and /rosout cannot be published ("Failed to
        # publish log message to rosout"): the last line goes to the console only (a logger
        # name no node publishes /rosout for)
        log = self.get_logger() if self.context.ok() else \
            rclpy.logging.get_logger(f"{self.get_name()}_shutdown")
        log.info(f"lockstep: {c}; refused messages: {dict(self.refused)}")
        self._world.close()


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: SimBridgeNode(), args)


if __name__ == "__main__":
    raise SystemExit(main())
