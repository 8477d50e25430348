"""Fuzzing every subscription of sim_bridge through its real callbacks (hypothesis).

For each message type the node subscribes to, arbitrary field values go into the node's
own subscription callback. Asserted: no exception escapes; a message the input rules
refuse changes nothing; the world stays finite; and the next valid messages (PLAY, then a
command answering the current frame) are processed normally: exactly one tick.
The number of generated cases per type is FUZZ_CASES (FUZZ_CASES_SLOW in the slow sweep).
"""

import math
import os

import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

from builtin_interfaces.msg import Time  # noqa: E402
from carla_msgs.msg import (  # noqa: E402
    CarlaControl,
    CarlaEgoVehicleControl,
    CarlaWeatherParameters,
)
from geometry_msgs.msg import Point, Pose, Quaternion, Twist, Vector3  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from std_msgs.msg import Bool, Header, UInt64  # noqa: E402
from test_sim_bridge import _sim  # noqa: E402

from td3_driving.ros import qos  # noqa: E402
from td3_driving.sim import inputs  # noqa: E402

pytestmark = pytest.mark.ros
FUZZ_CASES = int(os.environ.get("FUZZ_CASES", "60"))
R = "/carla/ego_vehicle"

f32 = st.floats(width=32)
f64 = st.floats()
stamps = st.builds(Time, sec=st.integers(-2**31, 2**31 - 1), nanosec=st.integers(0, 2**32 - 1))
vec3 = st.builds(Vector3, x=f64, y=f64, z=f64)
MESSAGES = {
    f"{R}/vehicle_control_cmd": st.builds(
        CarlaEgoVehicleControl, header=st.builds(Header, stamp=stamps), throttle=f32,
        steer=f32, brake=f32, hand_brake=st.booleans(), reverse=st.booleans(),
        gear=st.integers(-2**31, 2**31 - 1), manual_gear_shift=st.booleans()),
    f"{R}/vehicle_control_cmd_manual": st.builds(
        CarlaEgoVehicleControl, header=st.builds(Header, stamp=stamps), throttle=f32,
        steer=f32, brake=f32),
    f"{R}/vehicle_control_manual_override": st.builds(Bool, data=st.booleans()),
    f"{R}/enable_autopilot": st.builds(Bool, data=st.booleans()),
    f"{R}/control/set_transform": st.builds(
        Pose, position=st.builds(Point, x=f64, y=f64, z=f64),
        orientation=st.builds(Quaternion, x=f64, y=f64, z=f64, w=f64)),
    f"{R}/control/set_target_velocity": st.builds(Twist, linear=vec3, angular=vec3),
    "/sim/ego_vehicle/next_track": st.builds(UInt64, data=st.integers(0, 2**64 - 1)),
    "/carla/weather_control": st.builds(CarlaWeatherParameters, cloudiness=f32, wetness=f32,
                                        sun_altitude_angle=f32),
    "/carla/control": st.builds(CarlaControl, command=st.integers(-128, 127)),
}
# Which rule decides whether a message is valid (None: every value is valid).
RULES = {f"{R}/vehicle_control_cmd": inputs.vehicle_control,
         f"{R}/vehicle_control_cmd_manual": inputs.vehicle_control,
         f"{R}/control/set_transform": inputs.pose,
         f"{R}/control/set_target_velocity": inputs.twist,
         "/sim/ego_vehicle/next_track": inputs.track_seed,
         "/carla/control": inputs.carla_control}


def _refused(topic, msg) -> bool:
    if topic == "/carla/weather_control":
        return True
    rule = RULES.get(topic)
    try:
        if rule is not None:
            rule(msg)
    except inputs.Refused:
        return True
    return False


def _state(node):
    w, c, ls = node._world, node._world.controls, node._lockstep
    return (c.command, c.manual, c.manual_override, c.autopilot, w._next_track, w._teleport,
            w._velocity, ls.frame_stamp_ns, ls.paused, w.frame)


@pytest.fixture
def running(graph):
    """A lockstep sim_bridge whose first frame is out (a controller is connected)."""
    node = _sim(graph, control_timeout_s=60.0)
    probe = graph.node("probe")
    probe.create_publisher(CarlaEgoVehicleControl, f"{R}/vehicle_control_cmd", qos.BRIDGE)
    probe.create_subscription(Odometry, f"{R}/odometry", lambda m: None, qos.BRIDGE)
    assert graph.spin_until(lambda: node._first is None)
    callbacks = {s.topic_name: s.callback for s in node.subscriptions}
    assert set(MESSAGES) <= set(callbacks), set(callbacks) - set(MESSAGES)
    return node, callbacks


def _answer_current_frame(node, callbacks):
    ns = node._lockstep.frame_stamp_ns
    cmd = CarlaEgoVehicleControl(throttle=0.2)
    cmd.header.stamp = Time(sec=ns // 10**9, nanosec=ns % 10**9)
    callbacks["/carla/control"](CarlaControl(command=CarlaControl.PLAY))
    callbacks[f"{R}/vehicle_control_manual_override"](Bool(data=False))
    callbacks[f"{R}/vehicle_control_cmd"](cmd)


def _fuzz(node, callbacks, topic, msg):
    before = _state(node)
    callbacks[topic](msg)  # must not raise
    if _refused(topic, msg):
        assert _state(node) == before, (topic, msg)
    frame = node._world.frame
    if node._lockstep.awaiting or node._lockstep.paused:
        _answer_current_frame(node, callbacks)
        assert node._world.frame == frame + 1, (topic, msg)
    s = node._world.sim.state()
    assert all(math.isfinite(v) for v in (s.x, s.y, s.yaw, s.vx, s.vy, s.yaw_rate))


@pytest.mark.parametrize("topic", sorted(MESSAGES))
def test_no_message_escapes_or_changes_state_when_refused(running, topic):
    node, callbacks = running

    @settings(max_examples=FUZZ_CASES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(MESSAGES[topic])
    def run(msg):
        _fuzz(node, callbacks, topic, msg)

    run()
    assert node.context.ok()


@pytest.mark.slow
@pytest.mark.parametrize("topic", sorted(MESSAGES))
def test_long_fuzz_sweep(running, topic):
    node, callbacks = running

    @settings(max_examples=20 * FUZZ_CASES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(MESSAGES[topic])
    def run(msg):
        _fuzz(node, callbacks, topic, msg)

    run()
