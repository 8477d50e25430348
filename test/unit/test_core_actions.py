"""core.actions.exploration_action: the one warm-up / exploration rule of every actor."""

import numpy as np

from td3_driving.core.actions import exploration_action


def test_warm_up_actions_are_uniform_in_the_box():
    rng = np.random.default_rng(0)
    actions = np.stack([exploration_action(rng, None, 0.3, 2) for _ in range(2000)])
    assert actions.dtype == np.float32 and actions.shape == (2000, 2)
    assert actions.min() >= -1.0 and actions.max() <= 1.0
    assert abs(actions.mean()) < 0.05 and actions.std() > 0.5   # uniform, not noise on 0


def test_exploration_adds_clipped_noise_to_the_policy_action():
    rng = np.random.default_rng(0)
    action = np.array([0.95, -0.2], np.float32)
    noisy = np.stack([exploration_action(rng, action, 0.2, 2) for _ in range(2000)])
    assert noisy.max() <= 1.0 and noisy[:, 0].max() == 1.0          # clipped, and it hits
    assert abs(float(np.median(noisy[:, 1])) + 0.2) < 0.02
    assert np.array_equal(exploration_action(rng, action, 0.0, 2), action)   # no noise
