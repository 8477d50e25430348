"""Pure pursuit and the speed PID: geometry, signs, and a lap on CarRacing (ROS-free)."""

import math

import numpy as np
import pytest

from td3_driving.sim.carracing import CarRacingSim
from td3_driving.sim.config import CarRacingConfig, PurePursuitConfig
from td3_driving.sim.pure_pursuit import PurePursuitDriver, SpeedPid
from td3_driving.task.route import Route


def _circle(radius, n=400, ccw=True):
    t = np.linspace(0, 2 * math.pi, n, endpoint=False) * (1 if ccw else -1)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)


def _driver(xy):
    d = PurePursuitDriver(PurePursuitConfig())
    d.set_path(Route(xy))
    return d


def test_route_vertices_closed_loop_and_curvature():
    circle = Route(_circle(50.0))
    assert circle.closed and len(circle.vertices) == 400
    assert circle.length == pytest.approx(2 * math.pi * 50.0, rel=1e-3)
    assert np.allclose(circle.vertex_curvature(), 1 / 50.0, rtol=0.02)  # CCW: positive
    assert np.allclose(Route(_circle(50.0, ccw=False)).vertex_curvature(), -1 / 50.0,
                       rtol=0.02)
    line = Route(np.stack([np.arange(100.0), np.zeros(100)], axis=1))
    assert not line.closed and line.vertex_ahead(95, 20.0) == 99
    assert np.allclose(line.vertex_curvature(), 0.0)
    assert circle.vertex_ahead(399, 2 * math.pi * 50 / 400 * 3) == 2  # wraps around


def test_nearest_vertex_searches_near_its_hint_first():
    # A hairpin: two legs 4 m apart; from the second leg's side the hint keeps the answer.
    leg1 = np.stack([np.arange(100.0), np.zeros(100)], axis=1)
    leg2 = np.stack([np.arange(99.0, -1, -1), np.full(100, 4.0)], axis=1)
    route = Route(np.vstack([leg1, leg2]), closed=False)
    assert route.nearest_vertex(50.0, 1.5) == (50, pytest.approx(1.5))
    i, d = route.nearest_vertex(50.0, 1.5, hint=148)
    assert i == 149 and d == pytest.approx(2.5)
    # Nothing near the hint within trust_m: the whole route is searched.
    assert route.nearest_vertex(50.0, 1.5, hint=148, trust_m=2.0)[0] == 50


def test_steering_signs_follow_carla():
    line = np.stack([np.arange(200.0), np.zeros(200)], axis=1)
    on = _driver(line).control(10.0, 0.0, 0.0, 10.0, 0.08)
    assert on.steer == pytest.approx(0.0, abs=1e-6)
    # Car to the right of the path (y < 0) must steer left: CARLA steer < 0.
    assert _driver(line).control(10.0, -3.0, 0.0, 10.0, 0.08).steer < -0.01
    assert _driver(line).control(10.0, 3.0, 0.0, 10.0, 0.08).steer > 0.01
    # On a CCW (left-turning) circle, tangent to it: steer left.
    assert _driver(_circle(40.0)).control(40.0, 0.0, math.pi / 2, 10.0, 0.08).steer < -0.05


def test_speed_profile_slows_for_curves_and_pid_brakes_when_too_fast():
    xy = np.vstack([np.stack([np.arange(0.0, 300.0), np.zeros(300)], axis=1),
                    np.stack([300 + 10 * np.sin(np.linspace(0, math.pi, 30)),
                              10 - 10 * np.cos(np.linspace(0, math.pi, 30))], axis=1)])
    d = _driver(xy)
    assert d.target_speed(0) == pytest.approx(d.cfg.max_speed_mps)
    assert d.target_speed(290) < 0.7 * d.cfg.max_speed_mps
    slow = d.control(0.0, 0.0, 0.0, 0.0, 0.08)
    assert slow.throttle > 0.0 and slow.brake == 0.0
    d.pid.reset()
    fast = d.control(290.0, 0.0, 0.0, 99.0, 0.08)
    assert fast.throttle == 0.0 and 0.0 < fast.brake <= d.cfg.max_brake


def test_traction_control_cuts_throttle_while_sliding():
    line = np.stack([np.arange(200.0), np.zeros(200)], axis=1)
    d = _driver(line)
    assert d.control(10.0, 0.0, 0.0, 5.0, 0.08, lateral_speed=0.0).throttle > 0.0
    assert d.control(10.0, 0.0, 0.0, 5.0, 0.08, lateral_speed=5.0).throttle == 0.0


def test_pid_integrates_and_resets():
    pid = SpeedPid(kp=1.0, ki=0.5, kd=0.0)
    assert pid(2.0, 1.0) == pytest.approx(2.0 + 0.5 * 2.0)
    assert pid(2.0, 1.0) == pytest.approx(2.0 + 0.5 * 4.0)
    pid.reset()
    assert pid(1.0, 0.0) == pytest.approx(1.0)


def test_driver_completes_a_lap_on_carracing():
    sim = CarRacingSim(CarRacingConfig(seed=0), 4)
    res = sim.reset()
    d = _driver(sim.route().resampled(1.0)[:, :2])
    while not res.end_reason:
        s = res.state
        c = d.control(s.x, s.y, s.yaw, s.vx, 0.08, s.vy)
        res = sim.tick(c.steer, c.throttle, c.brake)
    summary = sim.summary()
    assert res.end_reason == "lap_complete" and summary.route_completion == 1.0
    assert summary.native_score > 850.0  # solved-level driving on this seed
