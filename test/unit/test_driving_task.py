"""DrivingTask: observation shapes, vehicle vector, reward along a route."""

import math

import numpy as np
import pytest

from td3_driving.core.config import CAMERA_VECTOR, ObservationConfig
from td3_driving.core.config_base import ConfigError, from_mapping
from td3_driving.task.config import RewardConfig
from td3_driving.task.driving import (
    DEFAULT_VECTOR_SCALE,
    DRIVING_OBSERVATION,
    VECTOR_SIZE,
    DrivingTask,
    VehicleState,
)

OBS = ObservationConfig(stack=4, height=84, width=84, vector_size=VECTOR_SIZE,
                        vector_scale=DEFAULT_VECTOR_SCALE)


def circle(radius=50.0, n=314):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[radius * np.cos(t), radius * np.sin(t)]


def state_at(angle, radius=50.0, speed=25.0, yaw_rate=0.5):
    return VehicleState(x=radius * math.cos(angle), y=radius * math.sin(angle),
                        yaw=angle + math.pi / 2, speed=speed, steer=0.0, throttle=0.5, brake=0.0,
                        yaw_rate=yaw_rate)


def image(value):
    return np.full((84, 96, 3), value, np.uint8)


def test_observation_shapes_and_vector_content():
    task = DrivingTask(OBS, RewardConfig())
    task.set_route(circle())
    obs = task.begin(image(10), state_at(0.0))
    assert obs.image.shape == (4, 84, 84) and obs.image.dtype == np.uint8
    assert obs.frame.shape == (1, 84, 84)
    assert obs.vector.shape == (VECTOR_SIZE,) and obs.vector.dtype == np.float32
    speed, lateral, curvature = obs.vector[0] * 30, obs.vector[4] * 6.7, obs.vector[6] * 0.05
    assert speed == pytest.approx(25.0)
    assert lateral == pytest.approx(0.0, abs=0.05)
    assert curvature == pytest.approx(1 / 50, rel=0.1)


def test_driving_along_the_route_earns_progress_and_completes_the_lap():
    task = DrivingTask(OBS, RewardConfig(max_episode_steps=10_000, target_speed=25.0))
    task.set_route(circle())
    task.begin(image(0), state_at(0.0))
    step_angle = 2.0 / 50.0  # 2 m per step = 25 m/s at 0.08 s
    rewards, outcome = [], None
    for i in range(1, 200):
        obs, outcome = task.step(image(i % 255), state_at(i * step_angle), off_road_event=False,
                                 collision=False)
        rewards.append(outcome.reward)
        if outcome.terminated:
            break
    assert outcome.terminated and outcome.reason == "route_complete"
    assert np.mean(rewards[:-1]) > 0.9
    assert task.route_completion > 0.97
    assert obs.image[-1, 0, 0] != obs.image[0, 0, 0]  # the stack moved on


def test_vector_size_mismatch_and_missing_route_are_clear_errors():
    with pytest.raises(ValueError, match="vector_size"):
        DrivingTask(ObservationConfig(vector_size=3), RewardConfig())
    task = DrivingTask(OBS, RewardConfig())
    with pytest.raises(RuntimeError, match="route"):
        task.begin(image(0), state_at(0.0))


def test_non_finite_vehicle_state_is_rejected():
    task = DrivingTask(OBS, RewardConfig())
    task.set_route(circle())
    bad = VehicleState(x=float("nan"), y=0, yaw=0, speed=0, steer=0, throttle=0, brake=0)
    with pytest.raises(ValueError, match="non-finite"):
        task.begin(image(0), bad)


def _drive(preset, radius=50.0, steps=5, reward=None):
    """Observations and outcomes of a few steps along a circle route of radius 50 m, the
    car driving on a circle of ``radius`` (off the centerline when it differs)."""
    task = DrivingTask(ObservationConfig(preset=preset), reward or RewardConfig())
    task.set_route(circle())
    out = [(task.begin(image(0), state_at(0.0, radius)), None)]
    for i in range(1, steps + 1):
        out.append(task.step(image(i), state_at(i * 0.04, radius), off_road_event=False,
                             collision=False))
    return task, out


def test_the_route_preset_is_the_route_vector_with_the_camera():
    cfg = ObservationConfig(preset="route")
    assert (cfg.image, cfg.vector_size, cfg.vector_scale) == (True, VECTOR_SIZE,
                                                               DEFAULT_VECTOR_SCALE)
    assert DRIVING_OBSERVATION == cfg
    _, with_preset = _drive("route")
    task = DrivingTask(OBS, RewardConfig())   # no preset: as configured before presets
    task.set_route(circle())
    legacy = task.begin(image(0), state_at(0.0))
    np.testing.assert_array_equal(with_preset[0][0].vector, legacy.vector)
    np.testing.assert_array_equal(with_preset[0][0].image, legacy.image)


def test_the_camera_preset_sees_only_what_the_car_measures_about_itself():
    cfg = ObservationConfig(preset="camera", vector_size=8)   # the preset replaces it
    assert cfg.image and cfg.vector_size == len(CAMERA_VECTOR) == 5
    _, centred = _drive("camera")
    _, offset = _drive("camera", radius=53.0)      # 3 m off the centerline
    for (a, _), (b, _) in zip(centred, offset):
        np.testing.assert_array_equal(a.vector, b.vector)   # no route geometry in it
    speed, steer, throttle, brake, yaw_rate = centred[1][0].vector * [30, 1, 1, 1, 1]
    assert (speed, throttle, yaw_rate) == pytest.approx((25.0, 0.5, 0.5))
    assert centred[1][0].image.shape == (4, 84, 84)


def test_the_camera_preset_is_still_rewarded_along_the_route():
    _, camera = _drive("camera")
    _, route = _drive("route")
    assert [o.reward for _, o in camera[1:]] == [o.reward for _, o in route[1:]]
    assert camera[-1][1].terms["progress"] > 0


def test_the_state_preset_has_the_route_vector_and_no_image():
    cfg = ObservationConfig(preset="state")
    assert not cfg.image and cfg.vector_size == VECTOR_SIZE
    _, state = _drive("state")
    _, route = _drive("route")
    for (a, _), (b, _) in zip(state, route):
        np.testing.assert_array_equal(a.vector, b.vector)
        assert a.image is None and set(a.as_dict()) == {"vector"}
        assert a.frame.shape == (0, 0, 0)    # what the replay topic carries without images


def test_presets_differ_so_agents_and_learner_refuse_a_mismatch():
    configs = [ObservationConfig(preset=p) for p in ("route", "camera", "state")]
    assert len({repr(c) for c in configs}) == 3
    assert configs[0] != configs[1] and configs[0] != configs[2]
    with pytest.raises(ConfigError, match="preset"):
        from_mapping(ObservationConfig, {"preset": "pixels"}, "observation")


def test_a_preset_that_contradicts_the_vector_is_a_clear_error():
    with pytest.raises(ValueError, match="observation.preset"):
        DrivingTask(ObservationConfig(image=False, vector_size=8,
                                      vector_scale=DEFAULT_VECTOR_SCALE), RewardConfig())


def test_route_complete_fraction_zero_never_ends_the_episode_by_itself():
    reward = RewardConfig(route_complete_fraction=0.0, max_episode_steps=10_000,
                          stall_steps=0)
    task, out = _drive("route", steps=200, reward=reward)   # 200 x 2 m > one lap
    assert not any(o.terminated for _, o in out[1:])
    assert task.route_completion == 1.0
