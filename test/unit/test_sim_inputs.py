"""Input rules of the simulator: every message field validated before anything changes.

Property-based (hypothesis): arbitrary field values either pass with finite, in-range
results or raise Refused naming a field; no other exception ever escapes.
"""

import math
from types import SimpleNamespace as NS

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from td3_driving.sim import inputs

anything = st.floats(allow_nan=True, allow_infinity=True, width=64)
float32 = st.floats(allow_nan=True, allow_infinity=True, width=32)


def _control(steer=0.0, throttle=0.0, brake=0.0, sec=0, nanosec=0, hand_brake=False,
             reverse=False):
    return NS(steer=steer, throttle=throttle, brake=brake, hand_brake=hand_brake,
              reverse=reverse, header=NS(stamp=NS(sec=sec, nanosec=nanosec)))


def _pose(x=0.0, y=0.0, z=0.0, qx=0.0, qy=0.0, qz=0.0, qw=1.0):
    return NS(position=NS(x=x, y=y, z=z), orientation=NS(x=qx, y=qy, z=qz, w=qw))


@settings(max_examples=300)
@given(float32, float32, float32, st.integers(-2**31, 2**31 - 1), st.integers(0, 2**32 - 1),
       st.booleans(), st.booleans())
def test_vehicle_control_is_in_range_or_refused(steer, throttle, brake, sec, nanosec, hb, rev):
    try:
        cmd = inputs.vehicle_control(_control(steer, throttle, brake, sec, nanosec, hb, rev))
    except inputs.Refused as e:
        assert e.field in {"steer", "throttle", "brake", "header.stamp"}
        return
    c = cmd.control
    assert -1 <= c.steer <= 1 and 0 <= c.throttle <= 1 and 0 <= c.brake <= 1
    assert cmd.stamp_ns >= 0 and (not hb or c.brake == 1.0)


def test_vehicle_control_names_what_it_clamped():
    cmd = inputs.vehicle_control(_control(steer=0.1, throttle=5.0, reverse=True))
    assert cmd.control.throttle == 1.0
    assert any("throttle=5.0" in n for n in cmd.notes) and any("reverse" in n for n in cmd.notes)
    with pytest.raises(inputs.Refused, match="steer"):
        inputs.vehicle_control(_control(steer=math.nan))


@settings(max_examples=300)
@given(anything, anything, anything, anything, anything, anything, anything)
def test_pose_is_a_finite_placement_on_the_playfield_or_refused(x, y, z, qx, qy, qz, qw):
    try:
        p = inputs.pose(_pose(x, y, z, qx, qy, qz, qw))
    except inputs.Refused as e:
        assert e.field.startswith(("position", "orientation"))
        return
    assert all(math.isfinite(v) for v in (p.x, p.y, p.yaw))
    assert abs(p.x) <= inputs.PLAYFIELD_M and abs(p.y) <= inputs.PLAYFIELD_M
    assert -math.pi <= p.yaw <= math.pi


def test_pose_yaw_from_a_quaternion_of_any_length():
    yaw = 0.7
    p = inputs.pose(_pose(1.0, 2.0, qz=3 * math.sin(yaw / 2), qw=3 * math.cos(yaw / 2)))
    assert (p.x, p.y) == (1.0, 2.0) and p.yaw == pytest.approx(yaw)
    with pytest.raises(inputs.Refused, match="orientation"):
        inputs.pose(_pose(qw=0.0))
    with pytest.raises(inputs.Refused, match="playfield"):
        inputs.pose(_pose(x=1e4))


@settings(max_examples=200)
@given(anything, anything, anything, anything, anything, anything)
def test_twist_is_bounded_or_refused(lx, ly, lz, ax, ay, az):
    msg = NS(linear=NS(x=lx, y=ly, z=lz), angular=NS(x=ax, y=ay, z=az))
    try:
        v = inputs.twist(msg)
    except inputs.Refused as e:
        assert e.field.startswith(("linear", "angular"))
        return
    assert math.hypot(v.vx, v.vy) <= inputs.MAX_SPEED_MPS
    assert abs(v.yaw_rate) <= inputs.MAX_YAW_RATE


@given(st.integers(-128, 127))
def test_carla_control_knows_three_commands(command):
    try:
        assert inputs.carla_control(NS(command=command)) in (0, 1, 2)
    except inputs.Refused as e:
        assert e.field == "command" and command not in (0, 1, 2)


@given(st.integers(0, 2**64 - 1))
def test_next_track_takes_any_seed_and_zero_means_the_schedule(seed):
    assert inputs.track_seed(NS(data=seed)) == (seed or None)
