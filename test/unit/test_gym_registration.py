"""The driving task through gymnasium.make: env checker and a few steps of SB3 TD3."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from td3_driving.sim import registration
from td3_driving.sim.config import CarRacingConfig

SHORT = CarRacingConfig(max_episode_frames=40)   # 10 agent steps per episode


@pytest.mark.parametrize("env_id", registration.ENV_IDS)
def test_env_checker_passes(env_id):
    env = gym.make(env_id, render_mode="rgb_array", sim_config=SHORT)
    try:
        check_env(env.unwrapped)
        obs, _ = env.reset(seed=3)
        assert env.observation_space.contains(obs)
        frame = env.render()   # the camera, whatever the observation holds
        assert frame.dtype == np.uint8 and frame.shape == (84, 96, 3)
        steps, done = 0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            steps, done = steps + 1, terminated or truncated
        assert steps <= 10 and "native_score" in info
        assert set(info["reward_terms"]) >= {"progress", "center", "heading", "smoothness"}
    finally:
        env.close()


def test_every_observation_preset_has_an_id():
    from td3_driving.core.config import OBSERVATION_PRESETS
    assert registration.ENV_IDS == [f"td3_driving/{n}" for n in registration.OBSERVATIONS]
    presets = {gym.spec(i).kwargs["obs_config"].preset for i in registration.ENV_IDS}
    assert presets >= set(OBSERVATION_PRESETS)
    state = gym.make("td3_driving/DrivingState-v0", sim_config=SHORT)
    assert set(state.observation_space.spaces) == {"vector"}   # no image in "state"
    state.close()
    assert registration.register_envs() == registration.ENV_IDS   # idempotent


def test_stable_baselines3_td3_trains_a_few_steps():
    from stable_baselines3 import TD3
    env = gym.make(registration.ENV_IDS[0], sim_config=SHORT)
    small = {"net_arch": [32, 32], "features_extractor_kwargs": {"cnn_output_dim": 32}}
    model = TD3("MultiInputPolicy", env, buffer_size=32, learning_starts=8, batch_size=4,
                train_freq=1, gradient_steps=1, seed=0, device="cpu", policy_kwargs=small)
    model.learn(total_timesteps=16)
    assert model.num_timesteps == 16 and model._n_updates > 0
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action)
    env.close()
