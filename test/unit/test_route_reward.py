"""Route geometry and the lane-keeping reward."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from td3_driving.task.config import RewardConfig
from td3_driving.task.reward import LaneKeepingReward
from td3_driving.task.route import Route


def circle(radius=50.0, n=300):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[radius * np.cos(t), radius * np.sin(t)]


def test_closed_loop_detected_and_length_matches_circumference():
    route = Route(circle())
    assert route.closed
    assert route.length == pytest.approx(2 * np.pi * 50, rel=1e-3)


def test_lateral_sign_and_heading_error_follow_rep103():
    route = Route(circle())  # counter-clockwise: the inside is on the left
    inside = route.pose(48.0, 0.0, yaw=math.pi / 2)
    outside = route.pose(53.0, 0.0, yaw=math.pi / 2 + 0.3)
    assert inside.lateral == pytest.approx(2.0, abs=0.05)
    assert outside.lateral == pytest.approx(-3.0, abs=0.05)
    assert outside.heading_error == pytest.approx(0.3, abs=0.02)


def test_progress_wraps_across_the_start_of_a_loop():
    route = Route(circle())
    assert route.progress(route.length - 1.0, 2.0) == pytest.approx(3.0)
    assert route.progress(2.0, route.length - 1.0) == pytest.approx(-3.0)


def test_curvature_ahead_of_a_circle_is_one_over_radius():
    route = Route(circle(radius=40.0))
    assert route.curvature_ahead(10, 30.0) == pytest.approx(1 / 40.0, rel=0.05)
    straight = Route(np.c_[np.arange(100.0), np.zeros(100)])
    assert not straight.closed
    assert straight.curvature_ahead(5, 20.0) == pytest.approx(0.0)


def test_resampled_points_are_evenly_spaced_and_carry_the_heading():
    route = Route(circle(radius=40.0, n=60))
    loop = route.resampled(2.0)
    assert len(loop) == round(route.length / 2.0)
    assert np.allclose(loop[0, :2], route.points[0])   # starts at the first point
    gaps = np.hypot(*np.diff(np.vstack([loop[:, :2], loop[:1, :2]]), axis=0).T)
    assert gaps.min() > 1.9 and gaps.max() < 2.05   # the closing gap included, once
    tangent = np.arctan2(loop[:, 1], loop[:, 0]) + np.pi / 2   # counter-clockwise
    assert np.allclose(np.cos(loop[:, 2] - tangent), 1.0, atol=1e-2)
    line = Route(np.c_[np.arange(11.0), np.zeros(11)]).resampled(2.5)
    assert np.allclose(line, np.c_[[0.0, 2.5, 5.0, 7.5, 10.0], np.zeros(5), np.zeros(5)])
    with pytest.raises(ValueError, match="spacing"):
        route.resampled(0.0)


def test_hint_keeps_projection_on_the_nearby_part_of_the_track():
    # A hairpin: two parallel legs 4 m apart; near the second leg the hint must win.
    leg1 = np.c_[np.arange(0, 100.0), np.zeros(100)]
    leg2 = np.c_[np.arange(99.0, -1, -1), np.full(100, 4.0)]
    route = Route(np.vstack([leg1, leg2]), closed=False)
    global_pose = route.project(50.0, 1.5)
    hinted = route.project(50.0, 1.5, hint=150, window=20)
    assert global_pose.index < 100 and hinted.index >= 100


@pytest.mark.parametrize("points", [np.zeros((1, 2)), np.zeros((5, 3)),
                                    np.array([[0, 0], [np.nan, 1]]), np.zeros((4, 2))])
def test_bad_routes_are_rejected_with_a_reason(points):
    with pytest.raises(ValueError, match="route"):
        Route(points)


def _step(reward, **kw):
    args = dict(progress_m=2.0, lateral_m=0.0, heading_error=0.0, steer=0.0,
                off_road_event=False, collision=False, route_complete=False)
    args.update(kw)
    return reward.step(**args)


def test_driving_at_target_speed_on_the_centerline_earns_the_progress_weight():
    cfg = RewardConfig(target_speed=25.0, step_seconds=0.08)
    out = _step(LaneKeepingReward(cfg), progress_m=2.0)
    assert out.reward == pytest.approx(cfg.progress_weight)
    assert not (out.terminated or out.truncated)


def _discounted_return(cfg, speed, steps=100, gamma=0.99):
    reward, total = LaneKeepingReward(cfg), 0.0
    for k in range(steps):
        total += gamma ** k * _step(reward, progress_m=speed * cfg.step_seconds).reward
    return total


@pytest.mark.parametrize("slow, fast", [(20.0, 30.0), (30.0, 50.0), (50.0, 90.0)])
def test_of_two_on_road_drives_the_faster_earns_the_larger_discounted_return(slow, fast):
    # CarRacing's laps need 46-55 m/s on average to finish inside 1000 frames: speeds up to
    # the car's top speed must all pay
    cfg = RewardConfig()
    assert _discounted_return(cfg, fast) > _discounted_return(cfg, slow)


def test_finishing_the_route_beats_being_truncated_at_the_same_point():
    gamma = 0.99
    cfg = RewardConfig()
    cfg.check_discount(gamma)
    drive = dict(progress_m=50.0 * cfg.step_seconds)

    def episode(route_complete):
        r, total = LaneKeepingReward(cfg), 0.0
        for k in range(199):
            total += gamma ** k * _step(r, **drive).reward
        last = _step(r, route_complete=route_complete, **drive)
        return total + gamma ** 199 * last.reward, last
    finished, end = episode(route_complete=True)
    assert end.terminated and end.reason == "route_complete"
    cut, _ = episode(route_complete=False)
    # a truncation bootstraps the value of what follows: at most the per-step cap forever
    bootstrap = gamma ** 200 * cfg.progress_weight / (1 - gamma)
    assert finished >= cut + bootstrap


def test_a_completion_bonus_below_the_bootstrap_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="route_complete_bonus >= 100"):
        RewardConfig(route_complete_bonus=5.0).check_discount(0.99)
    RewardConfig(route_complete_bonus=50.0).check_discount(0.98)


def test_progress_on_the_grass_earns_nothing():
    cfg = RewardConfig(center_weight=0.0, heading_weight=0.0, smoothness_weight=0.0)
    grass = _step(LaneKeepingReward(cfg), progress_m=4.0, off_road_event=True)
    wide = _step(LaneKeepingReward(cfg), progress_m=4.0, lateral_m=cfg.road_half_width + 1)
    assert grass.terms["progress"] == 0.0 and wide.terms["progress"] == 0.0
    back = _step(LaneKeepingReward(cfg), progress_m=-4.0, off_road_event=True)
    assert back.terms["progress"] < 0.0          # driving backwards still costs
    road = _step(LaneKeepingReward(cfg), progress_m=4.0)
    assert road.terms["progress"] > 0.0


finite = dict(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(weights=st.tuples(*[st.floats(0.0, 10.0, **finite)] * 4),
       penalties=st.tuples(*[st.floats(0.0, 100.0, **finite)] * 3),
       progress=st.floats(-1e4, 1e4, **finite), lateral=st.floats(-1e4, 1e4, **finite),
       heading=st.floats(-10.0, 10.0, **finite), steers=st.tuples(st.floats(-1, 1),
                                                                  st.floats(-1, 1)),
       events=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_step_bound_bounds_every_step(weights, penalties, progress, lateral, heading,
                                      steers, events):
    cfg = RewardConfig(progress_weight=weights[0], center_weight=weights[1],
                       heading_weight=weights[2], smoothness_weight=weights[3],
                       off_road_penalty=penalties[0], collision_penalty=penalties[1],
                       route_complete_bonus=penalties[2], off_road_steps=1)
    r = LaneKeepingReward(cfg)
    _step(r, steer=steers[0])
    out = _step(r, progress_m=progress, lateral_m=lateral, heading_error=heading,
                steer=steers[1], off_road_event=events[0], collision=events[1],
                route_complete=events[2])
    assert abs(out.reward) <= cfg.step_bound() + 1e-9


def test_off_road_terminates_after_the_configured_steps():
    r = LaneKeepingReward(RewardConfig(off_road_steps=3))
    outs = [_step(r, off_road_event=True) for _ in range(3)]
    assert [o.terminated for o in outs] == [False, False, True]
    assert outs[-1].reason == "off_road" and outs[-1].terms["terminal"] < 0


def test_time_limit_truncates_and_collision_terminates():
    r = LaneKeepingReward(RewardConfig(max_episode_steps=2))
    assert not _step(r).truncated
    last = _step(r)
    assert last.truncated and not last.terminated and last.reason == "time_limit"
    hit = _step(LaneKeepingReward(RewardConfig()), collision=True)
    assert hit.terminated and hit.reason == "collision"


def test_standing_still_is_truncated_as_stalled():
    r = LaneKeepingReward(RewardConfig(stall_steps=5))
    outs = [_step(r, progress_m=0.0) for _ in range(5)]
    assert outs[-1].truncated and outs[-1].reason == "stalled"
