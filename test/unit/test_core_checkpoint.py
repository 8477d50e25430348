"""Checkpoints resume exactly; policy artifacts act like the actor; bad files fail clearly."""

import numpy as np
import pytest
import torch

from td3_driving.core.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint_config,
    save_checkpoint,
)
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import from_mapping, to_dict
from td3_driving.core.experience import ExperienceRecorder
from td3_driving.core.networks import fuse
from td3_driving.core.policy import Policy, PolicyError, actor_payload, export_policy
from td3_driving.core.replay import ReplayBuffer
from td3_driving.core.td3 import TD3Agent


def config(mode="separate", seed=1, **network) -> LearnerConfig:
    return from_mapping(LearnerConfig, {
        "observation": {"stack": 2, "height": 36, "width": 36, "vector_size": 3},
        "network": {"encoder_mode": mode, "conv_channels": [4, 8, 8], "feature_dim": 16,
                    "hidden_sizes": [16, 16], "augment_pad": 2, **network},
        "td3": {"batch_size": 8}, "replay": {"capacity": 200, "n_step": 2}, "seed": seed})


def filled_buffer(cfg: LearnerConfig) -> ReplayBuffer:
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(cfg.observation, cfg.replay, cfg.action_size, cfg.td3.gamma)
    rec = ExperienceRecorder("a", 2)
    for t in range(60):
        frame = rng.integers(0, 256, (36, 36), dtype=np.uint8)
        vector = rng.normal(size=3).astype(np.float32)
        if t % 20 == 0:
            rec.begin_episode(frame, vector)
        else:
            rec.step(frame, vector, rng.uniform(-1, 1, 2).astype(np.float32),
                     float(rng.normal()), t % 20 == 19, False)
    buf.add(rec.flush())
    return buf


def train(agent, buf, rng, n) -> list[dict]:
    return [agent.update(buf.sample(8, rng)) for _ in range(n)]


def params(agent) -> list[torch.Tensor]:
    mods = list(agent.online.values()) + list(agent.target.values())
    return [p.detach().clone() for m in mods for p in m.parameters()]


@pytest.mark.parametrize("mode", ["separate", "shared"])
def test_round_trip_reproduces_the_next_10_updates_exactly(tmp_path, mode):
    agent, buf, rng = TD3Agent(config(mode)), filled_buffer(config(mode)), np.random.default_rng(4)
    train(agent, buf, rng, 5)
    save_checkpoint(tmp_path / "ckpt.pt", agent, buf, rng, extra={"env_steps": 123})
    expected = train(agent, buf, rng, 10)
    expected_params = params(agent)

    cfg = read_checkpoint_config(tmp_path / "ckpt.pt")
    assert cfg == config(mode)
    other = TD3Agent(config(mode, seed=9))     # different init: everything must come from disk
    other_buf = ReplayBuffer(cfg.observation, cfg.replay, cfg.action_size, cfg.td3.gamma)
    other_rng = np.random.default_rng(0)
    extra = load_checkpoint(tmp_path / "ckpt.pt", other, other_buf, other_rng)
    assert extra == {"env_steps": 123} and other.iteration == 5
    assert train(other, other_buf, other_rng, 10) == expected
    assert all(torch.equal(a, b) for a, b in zip(params(other), expected_params, strict=True))


def test_truncated_or_foreign_checkpoint_fails_clearly(tmp_path):
    agent = TD3Agent(config())
    save_checkpoint(tmp_path / "ok.pt", agent)
    data = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "cut.pt", agent)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a td3_driving.checkpoint/1 file"):
        load_checkpoint(tmp_path / "foreign.pt", agent)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt", agent)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.pt", "foreign.pt", "ok.pt"]


def test_mismatched_checkpoint_names_the_difference(tmp_path):
    save_checkpoint(tmp_path / "ckpt.pt", TD3Agent(config()))
    with pytest.raises(CheckpointError, match=r"does not fit this agent: network.feature_dim: "
                                              r"stored 16, agent 8"):
        load_checkpoint(tmp_path / "ckpt.pt", TD3Agent(config(feature_dim=8)))
    with pytest.raises(CheckpointError, match=r"network.encoder_mode: stored 'separate'"):
        load_checkpoint(tmp_path / "ckpt.pt", TD3Agent(config("shared")))
    load_checkpoint(tmp_path / "ckpt.pt", TD3Agent(config(augment_pad=0)))   # not a shape
    with pytest.raises(CheckpointError, match="no replay buffer saved"):
        agent = TD3Agent(config())
        load_checkpoint(tmp_path / "ckpt.pt", agent, filled_buffer(config()))


def observations(cfg, n=5):
    rng = np.random.default_rng(1)
    return [{"image": rng.integers(0, 256, cfg.observation.image_shape, dtype=np.uint8),
             "vector": rng.normal(size=3).astype(np.float32)} for _ in range(n)]


@pytest.mark.parametrize("mode, precision", [("separate", "float32"), ("shared", "float32"),
                                             ("shared", "bfloat16")])
def test_artifact_acts_identically_to_the_actor(tmp_path, mode, precision):
    cfg = config(mode, encoder_precision=precision)
    agent, buf = TD3Agent(cfg), filled_buffer(cfg)
    train(agent, buf, np.random.default_rng(0), 4)
    export_policy(agent, tmp_path / "policy.safetensors")
    policy = Policy.load(tmp_path / "policy.safetensors")
    for obs in observations(cfg):   # the file holds the deployed (Polyak-averaged) actor
        np.testing.assert_array_equal(policy.act(obs),
                                      agent.act(obs, explore=False, deployed=True))
    batch = {k: np.stack([o[k] for o in observations(cfg)]) for k in ("image", "vector")}
    np.testing.assert_array_equal(policy.act(batch),
                                  agent.act(batch, explore=False, deployed=True))
    assert policy.observation == cfg.observation and policy.action == cfg.action
    # weights topic: hot-swap the next version into the running policy
    train(agent, buf, np.random.default_rng(1), 2)
    arch, data = actor_payload(agent)
    policy.load_payload(data, arch)
    obs = observations(cfg)[0]
    np.testing.assert_array_equal(policy.act(obs), agent.act(obs, explore=False))
    np.testing.assert_array_equal(Policy.from_payload(arch, data).act(obs), policy.act(obs))


@pytest.mark.parametrize("mode", ["separate", "shared"])
@pytest.mark.parametrize("deploy_target", [True, False])
def test_the_policy_file_holds_the_target_actor_unless_configured_otherwise(tmp_path, mode,
                                                                            deploy_target):
    cfg = from_mapping(LearnerConfig, {**to_dict(config(mode)),
                                       "td3": {"batch_size": 8, "policy_delay": 1,
                                               "deploy_target_actor": deploy_target}})
    agent, buf = TD3Agent(cfg), filled_buffer(cfg)
    train(agent, buf, np.random.default_rng(0), 6)
    export_policy(agent, tmp_path / "policy.safetensors")
    policy = Policy.load(tmp_path / "policy.safetensors")
    batch = {k: np.stack([o[k] for o in observations(cfg)]) for k in ("image", "vector")}
    online = agent.act(batch, explore=False)
    with torch.no_grad():   # the target copies, by hand
        encoder = agent.target.get("actor_encoder", agent.target.get("critic_encoder"))
        image = agent._images_in(batch, single=False)
        vector = torch.as_tensor(batch["vector"])
        averaged = agent.target["actor_head"](fuse(encoder, image, vector)).numpy()
    assert not np.allclose(online, averaged)   # tau < 1: the average lags the actor
    np.testing.assert_array_equal(policy.act(batch), averaged if deploy_target else online)


def test_corrupted_or_mismatched_artifact_fails_clearly(tmp_path):
    agent = TD3Agent(config())
    arch, data = actor_payload(agent)
    policy = Policy.from_payload(arch, data)
    other_arch, other_data = actor_payload(TD3Agent(config(hidden_sizes=[8, 8])))
    with pytest.raises(PolicyError, match="architecture differs"):
        policy.load_payload(other_data, other_arch)
    with pytest.raises(PolicyError, match="metadata does not match"):
        policy.load_payload(other_data, arch)
    with pytest.raises(PolicyError, match="not a safetensors policy payload"):
        policy.load_payload(b"\x05" * 40, arch)
    with pytest.raises(PolicyError, match="weights do not load"):
        policy.load_payload(data[:-100], arch)
    (tmp_path / "p.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(PolicyError, match="p.safetensors"):
        Policy.load(tmp_path / "p.safetensors")
    with pytest.raises(PolicyError, match="format is not"):
        Policy('{"format": "something else"}')
