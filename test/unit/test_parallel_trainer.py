"""td3_driving.apps.parallel_trainer: parallel simulators, one learner, sittings that add up."""

import json

import numpy as np
import pytest

from td3_driving.apps.parallel_trainer import Stacks, train
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import from_mapping

TINY = {"observation": {"preset": "camera", "stack": 2, "height": 32, "width": 32},
        "network": {"conv_channels": [4, 4], "conv_kernels": [4, 3],
                    "conv_strides": [2, 1], "feature_dim": 16, "hidden_sizes": [16]},
        "td3": {"learning_starts": 8, "batch_size": 4, "update_to_data": 0.5},
        "replay": {"capacity": 200}}


@pytest.mark.slow   # two sittings of spawned simulators and evaluations: about 90 s
def test_two_sittings_train_from_two_simulators_and_resume_with_the_buffer(tmp_path):
    cfg = from_mapping(LearnerConfig, TINY)
    first = train(cfg, tmp_path, num_envs=2, frames=64, minutes=5.0, eval_every_frames=10**9,
                  resume=False, eval_episodes=1)
    assert first["status"] == "finished" and first["env_steps"] == 16
    assert first["updates"] == 5      # steps 8, 10, .., 16: 2 steps x 0.5 updates each
    assert [e[0] for e in first["evals"]] == [64]
    second = train(cfg, tmp_path, num_envs=2, frames=128, minutes=5.0,
                   eval_every_frames=10**9, resume=True, eval_episodes=1)
    assert second["env_steps"] == 32 and second["sittings"] == 2
    assert second["updates"] == first["updates"] + 8
    assert second["train_wall_s"] >= first["train_wall_s"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["learner"]["observation"]["preset"] == "camera"
    assert (tmp_path / "policy.safetensors").exists()


def test_stacks_batch_each_simulators_frames_apart():
    cfg = from_mapping(LearnerConfig, TINY)
    stacks = Stacks(2, cfg)
    for i in range(2):
        stacks.set(i, np.full((1, 32, 32), i, np.uint8), np.zeros(5, np.float32), first=True)
    stacks.set(1, np.full((1, 32, 32), 9, np.uint8), np.ones(5, np.float32), first=False)
    batch = stacks.batch()
    assert batch["image"].shape == (2, 2, 32, 32) and batch["vector"].shape == (2, 5)
    assert batch["image"][0].max() == 0 and batch["image"][1, -1].min() == 9
    assert batch["image"][1, 0].max() == 1
