"""The CarRacing-v3 backend: native score, camera, frames and units, episode ends (ROS-free)."""

import math

import numpy as np
import pytest
from gymnasium.envs.box2d.car_racing import CarRacing

from td3_driving.core.config_base import ConfigError, from_mapping
from td3_driving.sim import carracing as cr
from td3_driving.sim.carracing import CarRacingSim
from td3_driving.sim.config import CarRacingConfig, SimBridgeConfig
from td3_driving.task.config import CARRACING_TOP_SPEED


def _actions(n, seed=3):
    rng = np.random.default_rng(seed)
    return [(float(rng.uniform(-0.3, 0.3)), float(rng.uniform(0.2, 1.0)), 0.0)
            for _ in range(n)]


def test_score_and_camera_equal_the_plain_env_with_the_same_actions():
    sim = CarRacingSim(CarRacingConfig(seed=5, render_scale=1.0), frames_per_tick=4)
    env = CarRacing()
    sim.reset()
    obs, _ = env.reset(seed=5)
    env_return, res = 0.0, None
    for steer, gas, brake in _actions(45):
        res = sim.tick(steer, gas, brake)
        for _ in range(4):
            obs, r, term, trunc, _ = env.step(np.array([steer, gas, brake]))
            env_return += r
        assert not term
    # At full render resolution the camera is the env's observation without the 12-row HUD
    # strip, bit for bit (test_sim_render.py bounds the default half resolution's difference).
    assert res.image.shape == (84, 96, 3) and res.image.dtype == np.uint8
    assert np.array_equal(res.image, obs[:84])
    summary = sim.summary()
    assert summary.frames == 180 and summary.ticks == 45
    assert summary.native_score == pytest.approx(env_return, abs=1e-9)
    assert summary.route_completion == pytest.approx(env.tile_visited_count / len(env.track))
    assert summary.route_completion > 0.0


def test_same_seed_same_frames_and_seed_schedule_per_reset():
    a = CarRacingSim(CarRacingConfig(seed=11), 4)
    b = CarRacingSim(CarRacingConfig(seed=11), 4)
    a.reset(), b.reset()
    for steer, gas, brake in _actions(30):
        ra, rb = a.tick(steer, gas, brake), b.tick(steer, gas, brake)
        assert ra.image.tobytes() == rb.image.tobytes()
        assert ra.state == rb.state
    track0 = a.centerline()
    a.reset()
    assert (a.seed, a.episode_index) == (12, 1)
    assert a.summary().frames == 0 and a.summary().native_score == 0.0
    assert a.centerline().shape != track0.shape or not np.allclose(a.centerline(), track0)


def test_pose_yaw_and_body_velocity_follow_rep103():
    sim = CarRacingSim(CarRacingConfig(seed=2), 4)
    first = sim.reset().state
    x0, y0, yaw0 = sim.start_pose()
    assert (first.x, first.y) == pytest.approx((x0, y0), abs=0.05)
    assert math.cos(first.yaw - yaw0) == pytest.approx(1.0, abs=1e-3)
    # The track is built forward from its start: the car faces the second centreline point.
    p0, p1 = sim.centerline()[:2]
    assert math.cos(math.atan2(p1[1] - p0[1], p1[0] - p0[0]) - yaw0) > 0.95
    for _ in range(10):
        res = sim.tick(0.0, 1.0, 0.0)
    s = res.state
    moved = math.atan2(s.y - y0, s.x - x0)
    assert math.cos(moved - yaw0) > 0.99          # drove along its yaw
    assert s.vx > 5.0 and abs(s.vy) < 0.5 and s.speed == pytest.approx(math.hypot(s.vx, s.vy))
    # steer +1 is right (CARLA and CarRacing agree): yaw decreases, wheels turn clockwise.
    for _ in range(5):
        res = sim.tick(1.0, 0.0, 0.0)
    assert res.state.yaw_rate < 0.0 and res.state.steer_angle < 0.0


def test_leaving_the_road_is_reported_once():
    sim = CarRacingSim(CarRacingConfig(seed=0), 4)
    assert sim.reset().state.on_track
    events, on = 0, []
    for _ in range(60):
        res = sim.tick(1.0, 0.5, 0.0)
        events += res.left_track
        on.append(res.state.on_track)
    assert not on[-1]
    assert events == 1


def test_frame_limit_truncates_and_stops_scoring():
    sim = CarRacingSim(CarRacingConfig(seed=1, max_episode_frames=42), 4)
    sim.reset()
    ends = [sim.tick(0.0, 0.5, 0.0) for _ in range(11)]
    assert [r.truncated for r in ends] == [False] * 10 + [True]
    assert ends[-1].end_reason == cr.END_TIME_LIMIT and not ends[-1].terminated
    done = sim.summary()
    assert done.frames == 42 and done.ended and done.ticks == 11
    sim.tick(0.0, 1.0, 0.0)
    assert sim.summary() == done  # the world moves on, the episode's score does not


def test_custom_camera_size_and_mount():
    sim = CarRacingSim(CarRacingConfig(seed=0, image_width=64, image_height=48), 4)
    assert sim.reset().image.shape == (48, 64, 3)
    ahead, height = CarRacingSim.camera_mount(math.radians(90.0))
    assert ahead > 0.0 and height > 0.0


def test_waypoints_resampled_to_spacing_on_a_closed_loop():
    sim = CarRacingSim(CarRacingConfig(seed=4), 4)
    sim.reset()
    wps = sim.route().resampled(1.0)
    loop = np.vstack([wps[:, :2], wps[:1, :2]])
    gaps = np.hypot(*np.diff(loop, axis=0).T)
    assert gaps.max() < 1.05 and gaps.min() > 0.5
    assert np.allclose(wps[0, :2], sim.centerline()[0])
    assert math.cos(wps[0, 2] - sim.start_pose()[2]) > 0.95


def test_fixed_delta_must_be_a_multiple_of_the_physics_step():
    assert SimBridgeConfig().frames_per_tick == 4
    assert from_mapping(SimBridgeConfig, {"fixed_delta_seconds": 0.1}).frames_per_tick == 5
    with pytest.raises(ConfigError, match="multiple"):
        from_mapping(SimBridgeConfig, {"fixed_delta_seconds": 0.05})


def test_full_throttle_reaches_the_top_speed_the_reward_pays_for_and_no_more():
    # Box2D moves a body at most 2 m per 0.02 s physics step: 100 m/s. reward.target_speed
    # (CARRACING_TOP_SPEED) is that cap, so progress pays up to what the car can do.
    sim = CarRacingSim(CarRacingConfig(seed=1), frames_per_tick=4)
    try:
        sim.reset()
        speeds = [sim.tick(0.0, 1.0, 0.0).state.vx for _ in range(250)]
    finally:
        sim.close()
    assert CARRACING_TOP_SPEED * 0.99 < max(speeds) <= CARRACING_TOP_SPEED * 1.001
