"""sim_bridge as a stand-in for carla-ros-bridge, through its topics only: teleport, next
track, ticking without a controller, lockstep resynchronisation, autopilot, manual override,
target velocity, weather."""

import math

import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

from carla_msgs.msg import (  # noqa: E402
    CarlaActorList,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleInfo,
    CarlaEgoVehicleStatus,
    CarlaStatus,
    CarlaWeatherParameters,
    CarlaWorldInfo,
)
from geometry_msgs.msg import Pose, Twist  # noqa: E402
from nav_msgs.msg import Odometry, Path  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Bool, UInt64  # noqa: E402
from test_sim_bridge import ScriptedDriver, _cmd, _collect, _sim  # noqa: E402

from td3_driving.msg import EpisodeStats  # noqa: E402
from td3_driving.ros import qos  # noqa: E402
from td3_driving.ros.bridge import stamp_ns  # noqa: E402
from td3_driving.ros.geometry import planar_pose, quaternion_to_yaw  # noqa: E402

pytestmark = pytest.mark.ros
R = "/carla/ego_vehicle"


def _warnings(logs):
    return " ".join(m.msg for m in logs if m.level == Log.WARN)


def test_set_transform_teleports_on_the_current_track_at_rest(graph):
    probe = graph.node("probe")
    paths = _collect(probe, Path, f"{R}/waypoints", qos.WAYPOINTS)
    odoms = _collect(probe, Odometry, f"{R}/odometry")
    status = _collect(probe, CarlaEgoVehicleStatus, f"{R}/vehicle_status")
    teleport = probe.create_publisher(Pose, f"{R}/control/set_transform", qos.BRIDGE)
    _sim(graph, control_timeout_s=5.0, **{"carracing.seed": 3})
    driver = ScriptedDriver(graph, "ego_vehicle", lambda n: _cmd(throttle=0.8))
    assert graph.spin_until(lambda: driver.frames >= 20 and paths
                            and teleport.get_subscription_count() > 0)
    assert odoms[-1].twist.twist.linear.x > 3.0  # driving fast when teleported
    target = paths[0].poses[300].pose
    x, y = target.position.x, target.position.y
    yaw = quaternion_to_yaw(target.orientation) + 0.3  # not just any waypoint's heading
    n = len(odoms)
    teleport.publish(planar_pose(x, y, yaw))
    assert graph.spin_until(lambda: any(
        math.hypot(o.pose.pose.position.x - x, o.pose.pose.position.y - y) < 0.5
        for o in odoms[n:]))
    i = next(k for k in range(n, len(odoms)) if math.hypot(
        odoms[k].pose.pose.position.x - x, odoms[k].pose.pose.position.y - y) < 0.5)
    landed = odoms[i]
    assert abs(math.remainder(quaternion_to_yaw(landed.pose.pose.orientation) - yaw,
                              2 * math.pi)) < 0.05
    assert landed.twist.twist.linear.x == 0.0 and landed.twist.twist.linear.y == 0.0
    assert graph.spin_until(lambda: any(m.header.stamp == landed.header.stamp
                                        for m in status))
    same = [m for m in status if m.header.stamp == landed.header.stamp]
    assert len(same) == 1 and same[0].velocity == 0.0
    assert len(paths) == 1  # the same track: a teleport loads nothing


def test_next_track_loads_a_seed_and_republishes_route_and_world_info(graph):
    probe = graph.node("probe")
    stats = _collect(probe, EpisodeStats, "/sim/ego_vehicle/episode_score", qos.STATS)
    paths = _collect(probe, Path, f"{R}/waypoints", qos.WAYPOINTS)
    worlds = _collect(probe, CarlaWorldInfo, "/carla/world_info", qos.BRIDGE_LATCHED)
    odoms = _collect(probe, Odometry, f"{R}/odometry")
    request = probe.create_publisher(UInt64, "/sim/ego_vehicle/next_track", qos.BRIDGE)
    _sim(graph, control_timeout_s=5.0, **{"carracing.seed": 3})
    driver = ScriptedDriver(graph, "ego_vehicle", lambda n: _cmd(throttle=0.5))
    assert graph.spin_until(lambda: driver.frames >= 5 and paths and worlds
                            and request.get_subscription_count() > 0)
    request.publish(UInt64(data=77))
    assert graph.spin_until(lambda: stats and len(paths) >= 2 and len(worlds) >= 2)
    assert stats[0].termination_reason == EpisodeStats.REASON_SIM_RESET
    assert stats[0].episode_id == 0 and 0.0 < stats[0].route_completion < 0.5
    assert worlds[1].map_name == "CarRacing-v3/seed_77"
    start = paths[1].poses[0]
    assert graph.spin_until(lambda: any(o.header.stamp == start.header.stamp for o in odoms))
    first = next(o for o in odoms if o.header.stamp == start.header.stamp)
    assert math.hypot(first.pose.pose.position.x - start.pose.position.x,
                      first.pose.pose.position.y - start.pose.position.y) < 3.0
    assert first.twist.twist.linear.x == 0.0


def test_a_monitor_alone_sees_frames_when_the_wait_is_off(graph):
    probe = graph.node("monitor")
    status = _collect(probe, CarlaStatus, "/carla/status")
    images = _collect(probe, Image, f"{R}/rgb_front/image")
    actors = _collect(probe, CarlaActorList, "/carla/actor_list")
    infos = _collect(probe, CarlaEgoVehicleInfo, f"{R}/vehicle_info", qos.BRIDGE_LATCHED)
    # The bridge's defaults: synchronous mode, no wait for control commands.
    _sim(graph, synchronous_mode_wait_for_vehicle_control_command=False, real_time_factor=10.0)
    assert graph.spin_until(lambda: len(status) >= 10 and len(images) >= 10, timeout=30.0)
    frames = [m.frame for m in status]
    assert frames == sorted(set(frames)) and status[-1].synchronous_mode
    assert probe.count_publishers(f"{R}/vehicle_control_cmd") == 0
    assert graph.spin_until(lambda: actors and infos)
    ego, camera = actors[-1].actors
    info = infos[0]
    assert (ego.id, ego.parent_id, ego.rolename, ego.type) == \
        (info.id, 0, "ego_vehicle", info.type)
    assert (camera.parent_id, camera.type) == (ego.id, "sensor.camera.rgb")


class LateDriver(ScriptedDriver):
    """Answers frames 3, 6 and 9 only after the simulator has timed out and moved on."""

    STALL = (3, 6, 9)

    def __init__(self, graph):
        super().__init__(graph, "ego_vehicle", self._steer_for, name="late")
        self.sent, self._held = {}, None

    @staticmethod
    def _steer_for(n):
        return _cmd(steer=round(0.02 * (n + 1) - 0.5, 2), throttle=0.3)

    def _on_image(self, msg):
        stamp = stamp_ns(msg.header.stamp)
        self.images[stamp] = bytes(msg.data)
        if self._held is not None:  # the late answer to the previous frame
            self.pub.publish(self._held)
            self._held = None
        cmd = self._steer_for(self.frames)
        cmd.header = msg.header
        self.sent[stamp] = cmd.steer
        if self.frames in self.STALL:
            self._held = cmd
        else:
            self.pub.publish(cmd)
        self.frames += 1


def test_lockstep_resynchronises_after_stalls(graph):
    probe = graph.node("probe")
    logs = _collect(probe, Log, "/rosout", qos.STATS)
    status = _collect(probe, CarlaEgoVehicleStatus, f"{R}/vehicle_status")
    _sim(graph, control_timeout_s=0.3)
    driver = LateDriver(graph)
    assert graph.spin_until(lambda: driver.frames >= 16 and len(status) >= 16, timeout=60.0)
    frames = sorted(driver.sent)
    applied = {stamp_ns(m.header.stamp): round(m.control.steer, 2) for m in status}
    stalled = {frames[k] for k in LateDriver.STALL}
    for prev, stamp in zip(frames, frames[1:15]):
        expected = driver.sent[prev] if prev not in stalled else applied[prev]
        # Each frame shows the command that answered the frame before it; after a stall,
        # the previous control (the timeout's tick), never the late answer.
        assert applied[stamp] == pytest.approx(expected, abs=1e-6), (prev, stamp)
    late = {driver.sent[s] for s in stalled}
    assert not late & set(applied.values())  # late answers were never applied
    # One tick per frame: sim time advanced by exactly one tick between frames.
    assert all(b - a == 80_000_000 for a, b in zip(frames, frames[1:16]))
    assert "arrived after frame" in _warnings(logs)


def test_autopilot_laps_a_track(graph):
    probe = graph.node("probe")
    stats = _collect(probe, EpisodeStats, "/sim/ego_vehicle/episode_score", qos.STATS)
    status = _collect(probe, CarlaEgoVehicleStatus, f"{R}/vehicle_status")
    autopilot = probe.create_publisher(Bool, f"{R}/enable_autopilot", qos.BRIDGE)
    _sim(graph, synchronous_mode_wait_for_vehicle_control_command=False,
         real_time_factor=100.0, **{"carracing.seed": 2})
    assert graph.spin_until(lambda: autopilot.get_subscription_count() > 0)
    autopilot.publish(Bool(data=True))
    assert graph.spin_until(lambda: stats, timeout=150.0)
    assert stats[0].termination_reason == EpisodeStats.REASON_ROUTE_COMPLETE
    assert stats[0].route_completion >= 0.95 and stats[0].native_score > 800.0
    assert max(m.control.throttle for m in status) > 0.0  # the status shows its control


def test_manual_override_switches_the_command_topic_and_target_velocity(graph):
    probe = graph.node("probe")
    status = _collect(probe, CarlaEgoVehicleStatus, f"{R}/vehicle_status")
    odoms = _collect(probe, Odometry, f"{R}/odometry")
    pub = probe.create_publisher
    normal = pub(CarlaEgoVehicleControl, f"{R}/vehicle_control_cmd", qos.BRIDGE)
    manual = pub(CarlaEgoVehicleControl, f"{R}/vehicle_control_cmd_manual", qos.BRIDGE)
    override = pub(Bool, f"{R}/vehicle_control_manual_override", qos.MANUAL_OVERRIDE)
    velocity = pub(Twist, f"{R}/control/set_target_velocity", qos.BRIDGE)
    _sim(graph, synchronous_mode_wait_for_vehicle_control_command=False,
         real_time_factor=5.0)
    assert graph.spin_until(lambda: normal.get_subscription_count() > 0 and status)
    normal.publish(_cmd(steer=0.25, throttle=0.1))
    assert graph.spin_until(lambda: status[-1].control.steer == pytest.approx(0.25))
    override.publish(Bool(data=True))
    graph.spin_until(lambda: False, timeout=0.3)
    manual.publish(_cmd(steer=-0.5))
    normal.publish(_cmd(steer=0.75))  # ignored while the override is on
    assert graph.spin_until(lambda: status[-1].control.steer == pytest.approx(-0.5))
    graph.spin_until(lambda: False, timeout=0.5)
    assert all(m.control.steer != pytest.approx(0.75) for m in status)
    twist = Twist()
    twist.linear.x = 15.0
    velocity.publish(twist)
    assert graph.spin_until(lambda: odoms[-1].twist.twist.linear.x > 10.0)


def test_weather_is_refused_with_one_clear_line(graph):
    probe = graph.node("probe")
    logs = _collect(probe, Log, "/rosout", qos.STATS)
    weather = probe.create_publisher(CarlaWeatherParameters, "/carla/weather_control",
                                     qos.BRIDGE)
    _sim(graph, synchronous_mode_wait_for_vehicle_control_command=False)
    assert graph.spin_until(lambda: weather.get_subscription_count() > 0)
    for _ in range(5):
        weather.publish(CarlaWeatherParameters(cloudiness=80.0))
    assert graph.spin_until(lambda: "weather" in _warnings(logs))
    graph.spin_until(lambda: False, timeout=0.5)
    lines = [m.msg for m in logs if m.level == Log.WARN and "weather_control" in m.msg]
    assert len(lines) == 1 and "no weather" in lines[0]
