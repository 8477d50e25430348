"""DrivingTask: observation shapes, vehicle vector, reward along a route."""

import math

import numpy as np
import pytest

from td3_driving.core.config import ObservationConfig
from td3_driving.task.driving import (
    DEFAULT_VECTOR_SCALE,
    VECTOR_SIZE,
    DrivingTask,
    VehicleState,
)
from td3_driving.task.reward import RewardConfig

OBS = ObservationConfig(stack=4, height=84, width=84, vector_size=VECTOR_SIZE,
                        vector_scale=DEFAULT_VECTOR_SCALE)


def circle(radius=50.0, n=314):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[radius * np.cos(t), radius * np.sin(t)]


def state_at(angle, radius=50.0, speed=25.0):
    return VehicleState(x=radius * math.cos(angle), y=radius * math.sin(angle),
                        yaw=angle + math.pi / 2, speed=speed, steer=0.0, throttle=0.5, brake=0.0)


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
    task = DrivingTask(OBS, RewardConfig(max_episode_steps=10_000))
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
