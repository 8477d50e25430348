"""Q of the actions taken: which checkpoint gives the critic, and whether its actor fits."""

import dataclasses

import numpy as np

from td3_driving.core.checkpoint import save_checkpoint
from td3_driving.core.policy import Policy, export_policy
from td3_driving.core.td3 import TD3Agent
from td3_driving.recording.critic import CriticQ, find_checkpoint
from td3_driving.task.driving import DRIVING_LEARNER


def test_the_learner_checkpoints_win_and_the_newest_is_taken(tmp_path):
    agent = TD3Agent(DRIVING_LEARNER)
    export_policy(agent, tmp_path / "policy.safetensors")
    assert find_checkpoint(tmp_path / "policy.safetensors") is None
    save_checkpoint(tmp_path / "checkpoint.pt", agent)
    assert find_checkpoint(tmp_path / "policy.safetensors") == tmp_path / "checkpoint.pt"
    for updates in (20, 100):
        save_checkpoint(tmp_path / "checkpoints" / f"ckpt_{updates:012d}.pt", agent)
    assert find_checkpoint(tmp_path / "policy.safetensors").name == "ckpt_000000000100.pt"


def test_q_is_the_min_of_the_twin_critics_and_a_foreign_actor_is_noticed(tmp_path):
    agent = TD3Agent(DRIVING_LEARNER)
    save_checkpoint(tmp_path / "checkpoint.pt", agent)
    export_policy(agent, tmp_path / "policy.safetensors")
    other = TD3Agent(dataclasses.replace(DRIVING_LEARNER, seed=DRIVING_LEARNER.seed + 1))
    export_policy(other, tmp_path / "other.safetensors")
    q = CriticQ(tmp_path / "checkpoint.pt")
    assert q.same_actor(Policy.load(tmp_path / "policy.safetensors").actor)
    assert not q.same_actor(Policy.load(tmp_path / "other.safetensors").actor)
    rng = np.random.default_rng(0)
    obs = {"image": rng.integers(0, 255, DRIVING_LEARNER.observation.image_shape, np.uint8),
           "vector": rng.normal(size=DRIVING_LEARNER.observation.vector_size).astype(np.float32)}
    action = np.array([0.3, -0.2], np.float32)
    batch = {"image": obs["image"][None], "vector": obs["vector"][None]}
    import torch

    from td3_driving.core.networks import fuse, image_to_float
    with torch.no_grad():
        feats = fuse(agent.critic_encoder, image_to_float(torch.as_tensor(batch["image"]),
                                                          agent.config.network.channels_last),
                     torch.as_tensor(batch["vector"]))
        q1, q2 = agent.critic_head(feats, torch.as_tensor(action[None]))
    assert q(obs, action) == float(torch.min(q1, q2))
