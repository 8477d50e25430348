"""The TD3 update: targets, delays, Polyak, clipping, gradient isolation, determinism."""

import numpy as np
import pytest
import torch

from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import from_mapping
from td3_driving.core.diagnostics import DivergenceError
from td3_driving.core.networks import image_to_float, random_shift
from td3_driving.core.td3 import TD3Agent, polyak

B = 8


def config(**overrides) -> LearnerConfig:
    """A tiny pixel learner (36x36 frames, small CNN) that updates in milliseconds."""
    base = {"observation": {"stack": 2, "height": 36, "width": 36, "vector_size": 3},
            "network": {"conv_channels": [4, 8, 8], "feature_dim": 16, "hidden_sizes": [16, 16],
                        "augment_pad": 2},
            "td3": {"batch_size": B}, "seed": 1}
    for section, values in overrides.items():
        if isinstance(values, dict):
            base.setdefault(section, {}).update(values)
        else:
            base[section] = values
    return from_mapping(LearnerConfig, base)


def batch(cfg: LearnerConfig, seed=0, reward_scale=1.0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shape = (B, *cfg.observation.image_shape)
    k = cfg.observation.vector_size
    return {"image": torch.randint(0, 256, shape, generator=g, dtype=torch.uint8),
            "next_image": torch.randint(0, 256, shape, generator=g, dtype=torch.uint8),
            "vector": torch.randn(B, k, generator=g), "next_vector": torch.randn(B, k, generator=g),
            "action": torch.rand(B, cfg.action_size, generator=g) * 2 - 1,
            "reward": torch.randn(B, generator=g) * reward_scale,
            "discount": torch.full((B,), cfg.td3.gamma),
            "terminated": (torch.arange(B) % 3 == 0).float()}


def snapshot(modules) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_target_equals_hand_computation():
    cfg = config(observation={"image": False}, network={"hidden_sizes": [5]})
    agent, b = TD3Agent(cfg), batch(cfg)
    t = {k: {n: p.double() for n, p in m.state_dict().items()} for k, m in agent.target.items()}

    def layer(x, w, name):
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    gen = torch.Generator().manual_seed(7)
    agent.generator.set_state(gen.get_state())
    noise = (torch.randn(B, 2, generator=gen) * 0.2).clamp(-0.5, 0.5).double()
    s = b["next_vector"].double()
    a = torch.tanh(layer(layer(s, t["actor_head"], "net.0").relu(), t["actor_head"], "net.2"))
    a = (a + noise).clamp(-1, 1)
    sa = torch.cat([s, a], 1)
    q = [layer(layer(sa, t["critic_head"], f"q{i}_net.0").relu(), t["critic_head"],
               f"q{i}_net.2")[:, 0] for i in (1, 2)]
    expected = b["reward"] + (1 - b["terminated"]) * 0.99 * torch.min(q[0], q[1])
    got = agent.target_q(None, b)
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-5)
    # terminated transitions do not bootstrap; the others (truncated included) do
    terminal = b["terminated"] == 1
    assert torch.equal(got[terminal], b["reward"][terminal])
    assert not torch.allclose(got[~terminal], b["reward"][~terminal])


@pytest.mark.parametrize("mode", ["separate", "shared"])
def test_targets_use_target_encoders_not_online_ones(mode):
    cfg = config(network={"encoder_mode": mode, "augment_pad": 0})
    agent, b = TD3Agent(cfg), batch(cfg)
    next_image = image_to_float(b["next_image"], True)
    state = agent.generator.get_state()
    before = agent.target_q(next_image, b)
    with torch.no_grad():
        for p in agent.critic_encoder.parameters():
            p.add_(1.0)                      # the seed computed targets with the online CNN
    agent.generator.set_state(state)
    assert torch.equal(agent.target_q(next_image, b), before)
    with torch.no_grad():
        for p in agent.target["critic_encoder"].parameters():
            p.add_(0.1)
    agent.generator.set_state(state)
    assert not torch.equal(agent.target_q(next_image, b), before)


@pytest.mark.parametrize("mode", ["separate", "shared"])
def test_actor_and_targets_change_only_every_policy_delay_updates(mode):
    agent = TD3Agent(config(network={"encoder_mode": mode}, td3={"policy_delay": 3}))
    b = batch(agent.config)
    # the actor's own parameters (in shared mode its encoder belongs to the critic)
    actor_modules = [m for m in (agent.actor_head, agent.actor_encoder) if m is not None]
    for i in range(1, 7):
        actor, targets = snapshot(actor_modules), snapshot(agent.target.values())
        critic = snapshot([agent.critic_head, agent.critic_encoder])
        metrics = agent.update(b)
        assert not same(critic, snapshot([agent.critic_head, agent.critic_encoder]))
        delayed = i % 3 == 0
        assert same(actor, snapshot(actor_modules)) != delayed
        assert same(targets, snapshot(agent.target.values())) != delayed
        assert ("losses/actor" in metrics) == delayed


def test_polyak_tau_one_copies_and_tau_zero_keeps():
    online, target = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    kept = snapshot([target])
    polyak(online, target, 0.0)
    assert same(kept, snapshot([target]))
    polyak(online, target, 1.0)
    assert same(snapshot([online]), snapshot([target]))
    half = torch.nn.Linear(4, 3)
    start = snapshot([half])
    polyak(online, half, 0.25)
    torch.testing.assert_close(half.weight, 0.75 * start[0] + 0.25 * online.weight)


def test_agent_with_tau_one_has_targets_equal_to_online_after_a_delayed_step():
    agent = TD3Agent(config(td3={"tau": 1.0, "policy_delay": 1}))
    agent.update(batch(agent.config))
    for name, module in agent.online.items():
        assert same(snapshot([module]), snapshot([agent.target[name]])), name


@pytest.mark.parametrize("mode", ["separate", "shared"])
def test_huge_gradients_are_clipped_per_group(mode):
    limit = 0.5
    clip = {f"max_grad_norm_{g}": limit for g in ("actor_mlp", "actor_cnn", "critic_mlp",
                                                   "critic_cnn")}
    agent = TD3Agent(config(network={"encoder_mode": mode}, td3={"policy_delay": 1, **clip}),
                     reward_bound=1e9)
    with torch.no_grad():   # a steep critic makes the actor's gradients huge as well
        for p in agent.critic_head.parameters():
            p.mul_(30.0)
    metrics = agent.update(batch(agent.config, reward_scale=1e6))
    groups = ["actor_mlp", "critic_mlp", "critic_cnn"] + (["actor_cnn"] if mode == "separate"
                                                          else [])
    assert sorted(agent.groups) == sorted(groups)
    for g in groups:
        assert metrics[f"grad/{g}_pre"] > 10 * limit, g
        assert metrics[f"grad/{g}_post"] <= limit * (1 + 1e-5), g
        # the gradients the optimiser applied are still in .grad: measure them independently
        applied = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in
                                                      agent.groups[g]]))
        assert applied <= limit * (1 + 1e-5), g


@pytest.mark.parametrize("mode", ["separate", "shared"])
def test_actor_step_leaves_critic_parameters_and_gradients_alone(mode):
    agent = TD3Agent(config(network={"encoder_mode": mode}))
    b = batch(agent.config)
    agent.update(b)        # gives the critic non-trivial optimiser state
    image = image_to_float(b["image"], True)
    critic_modules = [agent.critic_head, agent.critic_encoder]
    critic_params = [p for m in critic_modules for p in m.parameters()]
    for p in critic_params:
        p.grad = None
    critic, actor = snapshot(critic_modules), snapshot([agent.actor_head])
    features = torch.cat([agent.critic_encoder(image), b["vector"]], 1).detach()
    agent._actor_step(image, b["vector"], features, {})
    assert same(critic, snapshot(critic_modules))
    assert all(p.grad is None for p in critic_params)   # nothing a later step could apply
    assert not same(actor, snapshot([agent.actor_head]))


def test_same_seed_same_actions_and_updates():
    obs = {"image": np.random.default_rng(0).integers(0, 256, (2, 36, 36), dtype=np.uint8),
           "vector": np.ones(3, np.float32)}
    a1, a2, a3 = TD3Agent(config()), TD3Agent(config()), TD3Agent(config(seed=2))
    acts = [a.act(obs, explore=True, rng=np.random.default_rng(5)) for a in (a1, a2, a3)]
    np.testing.assert_array_equal(acts[0], acts[1])
    assert not np.array_equal(acts[0], acts[2])
    assert acts[0].shape == (2,) and np.all(np.abs(acts[0]) <= 1)
    assert a1.update(batch(a1.config)) == a2.update(batch(a2.config))
    deterministic = a1.act(obs, explore=False)
    np.testing.assert_array_equal(deterministic, a1.act(obs, explore=False))


def test_metrics_cover_the_diagnostics():
    agent = TD3Agent(config(network={"encoder_mode": "separate"}, td3={"policy_delay": 1}))
    metrics = agent.update(batch(agent.config), buffer_fill=0.25)
    for key in ("losses/critic", "losses/actor", "losses/td_error_abs", "q/q1_mean", "q/q2_max",
                "q/target_min", "grad/critic_cnn_pre", "grad/actor_cnn_post",
                "params/critic_mlp_norm", "actor/saturation", "buffer/fill"):
        assert np.isfinite(metrics[key]), key
    assert metrics["buffer/fill"] == 0.25 and 0 <= metrics["actor/saturation"] <= 1


def test_watchdog_stops_on_q_beyond_the_reward_bound():
    agent = TD3Agent(config(watchdog={"margin": 1.0}), reward_bound=1.0)
    b = batch(agent.config)
    b["reward"] = torch.full((B,), 500.0)   # one step of 500 > 1 / (1 - 0.99)
    with pytest.raises(DivergenceError,
                       match=r"q/target_max.*exceeds the bound 100 = reward bound 1 "):
        agent.update(b)
    quiet = TD3Agent(config(watchdog={"stop_on_divergence": False}))
    b["reward"] = torch.full((B,), float("nan"))
    before = snapshot([quiet.critic_head])
    metrics = quiet.update(b)
    assert "non-finite" in quiet.watchdog.last_reason and np.isnan(metrics["losses/critic"])
    assert same(before, snapshot([quiet.critic_head]))   # the NaN step was not applied


@pytest.mark.parametrize("channels_last", [True, False])
def test_random_shift_is_replicate_pad_then_random_crop(channels_last):
    image = torch.randint(0, 256, (6, 3, 10, 12), dtype=torch.uint8)
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(3)
    offsets = torch.randint(0, 5, (6, 2), generator=torch.Generator().manual_seed(3))
    out = random_shift(image, 2, gen)
    padded = torch.nn.functional.pad(image.float(), (2, 2, 2, 2), mode="replicate")
    for i, (dy, dx) in enumerate(offsets.tolist()):
        assert torch.equal(out[i].float(), padded[i, :, dy:dy + 10, dx:dx + 12])
    assert len(set(map(tuple, offsets.tolist()))) > 1 and out.dtype == torch.uint8
