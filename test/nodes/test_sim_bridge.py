"""sim_bridge through its topics only: lap, determinism, latching, timeouts, bad commands."""

import math

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

from carla_msgs.msg import (  # noqa: E402
    CarlaControl,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleInfo,
    CarlaEgoVehicleStatus,
    CarlaStatus,
    CarlaWorldInfo,
)
from nav_msgs.msg import Odometry, Path  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Float32  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402

from td3_driving.msg import EpisodeStats  # noqa: E402
from td3_driving.nodes.reference_controller import ReferenceControllerNode  # noqa: E402
from td3_driving.nodes.sim_bridge import SimBridgeNode  # noqa: E402
from td3_driving.ros import qos  # noqa: E402
from td3_driving.ros.bridge import stamp_ns  # noqa: E402

pytestmark = pytest.mark.ros


def _sim(graph, **params):
    """A sim_bridge in lockstep (wait for each command) unless the test says otherwise."""
    params.setdefault("synchronous_mode_wait_for_vehicle_control_command", True)
    overrides = [Parameter(k, value=v) for k, v in params.items()]
    return graph.add(SimBridgeNode(context=graph.context, parameter_overrides=overrides))


def _collect(node, msg_type, topic, profile=qos.BRIDGE):
    got = []
    node.create_subscription(msg_type, topic, got.append, profile)
    return got


class ScriptedDriver:
    """Answers each camera frame of ``role`` with ``script(n)`` (n = frames seen so far)."""

    def __init__(self, graph, role, script, name="driver"):
        self.node = graph.node(f"{name}_{role}")
        self.script, self.images, self.frames = script, {}, 0
        self.pub = self.node.create_publisher(CarlaEgoVehicleControl,
                                              f"/carla/{role}/vehicle_control_cmd", qos.BRIDGE)
        self.node.create_subscription(Image, f"/carla/{role}/rgb_front/image", self._on_image,
                                      qos.BRIDGE)

    def _on_image(self, msg):
        self.images[stamp_ns(msg.header.stamp)] = bytes(msg.data)
        cmd = self.script(self.frames)
        self.frames += 1
        if cmd is not None:
            cmd.header = msg.header
            self.pub.publish(cmd)


def _cmd(steer=0.0, throttle=0.0, brake=0.0):
    return CarlaEgoVehicleControl(steer=steer, throttle=throttle, brake=brake)


def test_reference_controller_completes_a_lap_and_resets(graph):
    probe = graph.node("probe")
    r = "/carla/ego_vehicle"
    stats = _collect(probe, EpisodeStats, "/sim/ego_vehicle/episode_score", qos.STATS)
    paths = _collect(probe, Path, f"{r}/waypoints", qos.WAYPOINTS)
    images, infos = _collect(probe, Image, f"{r}/rgb_front/image"), \
        _collect(probe, CameraInfo, f"{r}/rgb_front/camera_info")
    odoms, speeds = _collect(probe, Odometry, f"{r}/odometry"), \
        _collect(probe, Float32, f"{r}/speedometer")
    status, clocks = _collect(probe, CarlaEgoVehicleStatus, f"{r}/vehicle_status"), \
        _collect(probe, Clock, "/clock")
    carla, tfs = _collect(probe, CarlaStatus, "/carla/status"), _collect(probe, TFMessage, "/tf")
    _sim(graph, **{"carracing.seed": 0})
    graph.add(ReferenceControllerNode(context=graph.context))
    assert graph.spin_until(lambda: stats and len(paths) >= 2, timeout=90.0)
    lap = stats[0]
    assert lap.termination_reason == EpisodeStats.REASON_ROUTE_COMPLETE, lap
    assert lap.route_completion >= 0.9 and lap.native_score > 800.0
    assert lap.agent_id == "ego_vehicle" and lap.length > 0
    assert math.isclose(lap.sim_time, lap.length * 0.08, abs_tol=0.08)
    # The controller's next_track request loaded the next track of the seed schedule.
    assert (paths[1].poses[0].pose.position.x, paths[1].poses[0].pose.position.y) != \
        (paths[0].poses[0].pose.position.x, paths[0].poses[0].pose.position.y)
    assert stamp_ns(paths[1].header.stamp) > stamp_ns(lap.header.stamp)

    img, info = images[5], infos[5]
    assert img.encoding == "bgra8" and img.step == 4 * img.width and (img.width, img.height) \
        == (96, 84) and len(img.data) == img.step * img.height
    assert info.header == img.header and info.header.frame_id == "ego_vehicle/rgb_front"
    assert info.k[0] == pytest.approx(96 / (2 * math.tan(math.radians(45.0))))
    assert info.k[0] == info.k[4] and (info.k[2], info.k[5]) == (48.0, 42.0)
    odom = odoms[-1]
    assert (odom.header.frame_id, odom.child_frame_id) == ("map", "ego_vehicle")
    assert odom.twist.twist.linear.x > 1.0
    assert speeds[-1].data == pytest.approx(odom.twist.twist.linear.x, rel=1e-5)
    st = status[-1]
    assert st.header.frame_id == "map" and st.velocity >= abs(speeds[-1].data) - 1e-3
    assert st.orientation == odom.pose.pose.orientation
    stamps = [stamp_ns(m.clock) for m in clocks]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert carla[-1].synchronous_mode and math.isclose(carla[-1].fixed_delta_seconds, 0.08,
                                                       rel_tol=1e-6)
    frames = {(t.header.frame_id, t.child_frame_id) for m in tfs for t in m.transforms}
    assert frames == {("map", "ego_vehicle"), ("ego_vehicle", "ego_vehicle/rgb_front")}


def test_same_seed_gives_identical_images_and_two_sims_share_a_graph(graph):
    def script(n):
        return _cmd(steer=0.4 * math.sin(n / 15.0), throttle=0.6 if n % 40 < 30 else 0.0,
                    brake=0.3 if n % 40 >= 35 else 0.0)

    drivers = []
    for role, owns in (("hero0", True), ("hero1", False)):
        _sim(graph, role_name=role, owns_clock=owns, control_timeout_s=10.0,
             **{"carracing.seed": 7})
        drivers.append(ScriptedDriver(graph, role, script))
    assert graph.spin_until(lambda: min(d.frames for d in drivers) >= 200, timeout=120.0)
    first = [sorted(d.images)[:200] for d in drivers]
    assert first[0] == first[1]  # same stamps: no frame lost, no timeout tick
    a, b = ([d.images[s] for s in first[0]] for d in drivers)
    assert a == b
    assert len(set(a[100:])) > 50  # the car moved: the frames are not trivially equal
    # Only hero0 owns /clock: one publisher of it in the graph.
    assert drivers[0].node.count_publishers("/clock") == 1


def test_late_subscriber_gets_vehicle_info_waypoints_and_world_info(graph):
    _sim(graph, role_name="hero3")
    graph.spin_until(lambda: False, timeout=0.5)
    late = graph.node("late")
    infos = _collect(late, CarlaEgoVehicleInfo, "/carla/hero3/vehicle_info",
                     qos.BRIDGE_LATCHED)
    paths = _collect(late, Path, "/carla/hero3/waypoints", qos.WAYPOINTS)
    worlds = _collect(late, CarlaWorldInfo, "/carla/world_info", qos.BRIDGE_LATCHED)
    assert graph.spin_until(lambda: infos and paths and worlds, timeout=10.0)
    info, path, world = infos[0], paths[0], worlds[0]
    assert info.rolename == "hero3" and len(info.wheels) == 4 and info.mass > 0.0
    assert info.type.startswith("vehicle.") and info.moi > 0.0
    assert all(w.radius > 0.1 and w.tire_friction > 0 and w.max_brake_torque > 0
               for w in info.wheels)
    assert [w.max_steer_angle > 0 for w in info.wheels] == [True, True, False, False]
    assert world.map_name == "CarRacing-v3/seed_0" and "<OpenDRIVE>" in world.opendrive
    assert path.header.frame_id == "map" and len(path.poses) > 500
    xy = np.array([(p.pose.position.x, p.pose.position.y) for p in path.poses])
    gaps = np.hypot(*np.diff(xy, axis=0).T)
    assert 0.9 < gaps.mean() < 1.1 and gaps.max() < 1.2


def _rosout(node):
    return _collect(node, Log, "/rosout", qos.STATS)


def test_silent_controller_makes_the_sim_time_out_and_go_on(graph):
    probe = graph.node("probe")
    logs = _rosout(probe)
    status = _collect(probe, CarlaEgoVehicleStatus, "/carla/ego_vehicle/vehicle_status")
    _sim(graph, control_timeout_s=0.1)
    # Answers the first two frames, then stays connected but silent.
    driver = ScriptedDriver(graph, "ego_vehicle",
                            lambda n: _cmd(steer=0.2, throttle=0.7) if n < 2 else None)
    assert graph.spin_until(lambda: driver.frames >= 8, timeout=30.0)
    stamps = sorted(driver.images)
    assert len(stamps) >= 8 and stamps == sorted(set(stamps))
    assert any("vehicle_control_cmd" in m.msg and "previous control" in m.msg
               for m in logs if m.level == Log.WARN)
    applied = status[-1].control  # the last command keeps being applied
    assert (applied.steer, applied.throttle) == pytest.approx((0.2, 0.7))


def test_malformed_commands_are_rejected_or_clamped_with_a_warning(graph):
    probe = graph.node("probe")
    logs = _rosout(probe)
    status = _collect(probe, CarlaEgoVehicleStatus, "/carla/ego_vehicle/vehicle_status")
    script = [_cmd(steer=0.1, throttle=0.5), _cmd(steer=math.nan, throttle=0.9),
              _cmd(steer=0.1, throttle=5.0), _cmd(steer=0.1, throttle=0.5, brake=-1.0)]
    _sim(graph, control_timeout_s=0.5)  # the refused command does not answer its frame
    driver = ScriptedDriver(graph, "ego_vehicle", lambda n: script[min(n, 3)])
    assert graph.spin_until(lambda: len(status) >= 6 and driver.frames >= 6, timeout=30.0)
    applied = [(m.control.steer, m.control.throttle, m.control.brake) for m in status[1:5]]
    assert np.allclose(applied, [(0.1, 0.5, 0.0), (0.1, 0.5, 0.0),  # NaN: rejected
                                 (0.1, 1.0, 0.0), (0.1, 0.5, 0.0)])  # clamped
    warnings = " ".join(m.msg for m in logs if m.level == Log.WARN)
    for field in ("steer=nan", "throttle=5.0", "brake=-1.0"):
        assert field in warnings
    assert driver.frames >= 6  # still ticking, nothing crashed


def test_pause_step_once_and_play(graph):
    probe = graph.node("probe")
    control = probe.create_publisher(CarlaControl, "/carla/control", qos.BRIDGE)
    _sim(graph, control_timeout_s=5.0)
    driver = ScriptedDriver(graph, "ego_vehicle", lambda n: _cmd(throttle=0.3))
    assert graph.spin_until(lambda: driver.frames >= 3)
    control.publish(CarlaControl(command=CarlaControl.PAUSE))
    graph.spin_until(lambda: False, timeout=1.0)  # PAUSE delivered, the last tick done
    paused_at = driver.frames
    graph.spin_until(lambda: False, timeout=0.5)
    assert driver.frames == paused_at
    control.publish(CarlaControl(command=CarlaControl.STEP_ONCE))
    assert graph.spin_until(lambda: driver.frames == paused_at + 1)
    graph.spin_until(lambda: False, timeout=0.3)
    assert driver.frames == paused_at + 1
    control.publish(CarlaControl(command=CarlaControl.PLAY))
    assert graph.spin_until(lambda: driver.frames >= paused_at + 5)


