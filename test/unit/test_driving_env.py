"""DrivingEnv: a valid gymnasium environment with the agents' evaluation rules."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from td3_driving.sim.driving_env import DrivingEnv, evaluate_in_process
from td3_driving.task.config import RewardConfig


def test_passes_the_gymnasium_checker():
    env = DrivingEnv(4)
    check_env(env, skip_render_check=True)
    env.close()


def test_reset_with_a_seed_restarts_the_track_schedule():
    env = DrivingEnv(4)
    assert env.reset()[1]["track_seed"] == 4
    assert env.reset()[1]["track_seed"] == 5
    assert env.reset(seed=4)[1]["track_seed"] == 4


def test_training_ends_off_road_but_evaluation_drives_the_full_1000_frames():
    full_steer = np.array([1.0, 1.0], np.float32)    # circles onto the grass
    train = DrivingEnv(2)
    train.reset()
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        _, _, terminated, truncated, info = train.step(full_steer)
        steps += 1
    assert terminated and info["reason"] == "off_road" and steps < 250
    result = evaluate_in_process(lambda obs: full_steer, episodes=1, seed=2)
    assert result["episodes"][0]["frames"] == 1000
    assert result["seeds"] == [2, 2]


def test_rejects_a_tick_that_the_physics_step_does_not_divide():
    with pytest.raises(ValueError, match="multiple of the physics step"):
        DrivingEnv(0, fixed_delta_seconds=0.05, reward_config=RewardConfig(step_seconds=0.05))
