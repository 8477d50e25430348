"""TD3 (Fujimoto et al. 2018, sfujim/TD3) from pixels, with the DrQ / DrQ-v2 pixel parts.

The agent only acts and updates (drqv2's split): no logging, environment or files.
``update`` returns a metrics dict; the caller logs it.

Encoder modes (NetworkConfig.encoder_mode):
- ``separate``: actor and critic each own a NatureCNN; both have target copies.
- ``shared``: one CNN trained by the critic loss only; the actor reads detached features
  (DrQ-v2 found actor gradients in the encoder hurt); a target copy gives target values.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from td3_driving.core.actions import exploration_action
from td3_driving.core.config import LearnerConfig
from td3_driving.core.diagnostics import DivergenceWatchdog, clip_group, param_norm
from td3_driving.core.networks import (
    Actor,
    ActorHead,
    Encoder,
    TwinQHead,
    feature_dim,
    fuse,
    image_to_float,
    random_shift,
)


def apply_torch_threads(threads: int) -> None:
    """Set torch's intra-op threads (docs/architecture.md: oversubscribed OpenMP spins);
    0 (the count fitted while running, learner/threads.py) starts with one.
    """
    torch.set_num_threads(max(1, threads))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' requested but torch sees no CUDA device; use 'cpu' "
                         "or 'auto'")
    return torch.device(name)


def polyak(online: torch.nn.Module, target: torch.nn.Module, tau: float) -> None:
    """Target <- tau * online + (1 - tau) * target; lerp is exact at tau = 0 and 1."""
    with torch.no_grad():
        torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), tau)


class TD3Agent:
    """TD3 actor, twin critics, their targets and optimisers; acts and updates."""

    def __init__(self, config: LearnerConfig, reward_bound: float | None = None) -> None:
        """``reward_bound``: the largest |reward| of one step, from the reward's own
        configuration; it bounds |Q| for the divergence watchdog (None: no Q bound).
        """
        apply_torch_threads(config.torch_threads)
        self.config = config
        self.device = resolve_device(config.device)
        with torch.random.fork_rng(devices=[]):   # seeded init, global RNG untouched
            torch.manual_seed(config.seed)
            self._build_networks()
        self.generator = torch.Generator(device=self.device)  # smoothing noise, augmentation
        self.generator.manual_seed(config.seed + 1)
        td3 = config.td3
        actor_params = self.groups["actor_mlp"] + self.groups.get("actor_cnn", [])
        critic_params = self.groups["critic_mlp"] + self.groups.get("critic_cnn", [])
        self.actor_opt = torch.optim.Adam(actor_params, lr=td3.actor_lr, fused=True)
        self.critic_opt = torch.optim.Adam(critic_params, lr=td3.critic_lr, fused=True)
        self.watchdog = DivergenceWatchdog(config.watchdog, td3.gamma, reward_bound)
        self.iteration = 0  # critic updates done

    def _build_networks(self) -> None:
        obs, net, a = self.config.observation, self.config.network, self.config.action_size
        separate = net.encoder_mode == "separate"
        self.critic_encoder = Encoder(obs, net) if obs.image else None
        self.actor_encoder = Encoder(obs, net) if obs.image and separate else None
        self.actor_head = ActorHead(feature_dim(obs, net), net.hidden_sizes, a)
        self.critic_head = TwinQHead(feature_dim(obs, net), net.hidden_sizes, a)
        # the online modules with a target copy, by name (checkpoints use these names)
        self.online = {k: m for k, m in [("critic_encoder", self.critic_encoder),
                                         ("actor_encoder", self.actor_encoder),
                                         ("actor_head", self.actor_head),
                                         ("critic_head", self.critic_head)] if m is not None}
        for m in self.online.values():
            m.to(self.device)
            if net.channels_last:
                m.to(memory_format=torch.channels_last)
        self.target = {k: copy.deepcopy(m).requires_grad_(False) for k, m in self.online.items()}
        # the inference actor: in shared mode it reads the critic's encoder
        encoder = self.actor_encoder if self.actor_encoder is not None else self.critic_encoder
        self.actor = Actor(encoder, self.actor_head)
        # the same from the target copies: the Polyak average of the actor, the deployed
        # policy when TD3Config.deploy_target_actor (docs/benchmarks.md)
        name = "actor_encoder" if self.actor_encoder is not None else "critic_encoder"
        self.target_actor = Actor(self.target.get(name), self.target["actor_head"])
        self.groups = {"actor_mlp": list(self.actor_head.parameters()),
                       "critic_mlp": list(self.critic_head.parameters())}
        if self.actor_encoder is not None:
            self.groups["actor_cnn"] = list(self.actor_encoder.parameters())
        if self.critic_encoder is not None:
            self.groups["critic_cnn"] = list(self.critic_encoder.parameters())

    # ------------------------------------------------------------------ acting
    @property
    def deployed_actor(self) -> Actor:
        """The policy this agent deploys: the target actor or the online one (config)."""
        return self.target_actor if self.config.td3.deploy_target_actor else self.actor

    def act(self, obs: dict[str, np.ndarray], explore: bool,
            rng: np.random.Generator | None = None, deployed: bool = False) -> np.ndarray:
        """Deterministic action in [-1, 1], plus Gaussian exploration noise if ``explore``.

        ``obs`` holds ``image`` uint8 [stack*C, H, W] (if the config has images) and
        ``vector`` float32 [k], or the same with a leading batch dimension. ``deployed``:
        act with :attr:`deployed_actor` (evaluations) instead of the online actor.
        """
        actor = self.deployed_actor if deployed else self.actor
        single = np.ndim(obs["vector"]) == 1
        with torch.no_grad():
            image = self._images_in(obs, single)
            vector = torch.as_tensor(np.asarray(obs["vector"], np.float32), device=self.device)
            action = actor(image, vector[None] if single else vector).cpu().numpy()
        if explore:
            if rng is None:
                raise ValueError("act(explore=True) needs a numpy Generator for the noise")
            action = exploration_action(rng, action, self.config.td3.exploration_noise,
                                        self.config.action_size)
        return action[0] if single else action

    def _images_in(self, obs: dict, single: bool) -> torch.Tensor | None:
        if not self.config.observation.image:
            return None
        image = torch.as_tensor(np.asarray(obs["image"]), device=self.device)
        image = image[None] if single else image
        expected = self.config.observation.image_shape
        if image.dtype != torch.uint8 or tuple(image.shape[1:]) != expected:
            raise ValueError(f"act: obs['image'] must be uint8 {expected} (stacked "
                             f"preprocessed frames), got {image.dtype} {tuple(image.shape)}")
        return image_to_float(image, self.config.network.channels_last)

    # ------------------------------------------------------------------ learning
    def update(self, batch: dict[str, torch.Tensor],
               buffer_fill: float | None = None) -> dict[str, float]:
        """One critic update; every ``policy_delay`` updates also the actor and targets."""
        td3 = self.config.td3
        b = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        obs_image, next_image = self._batch_images(b)
        stats: dict[str, torch.Tensor] = {}

        with torch.no_grad():
            target_q = self.target_q(next_image, b, stats)

        # encode obs once for both critic heads
        features = fuse(self.critic_encoder, obs_image, b["vector"])
        q1, q2 = self.critic_head(features, b["action"])
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        self._step(self.critic_opt, critic_loss, ("critic_mlp", "critic_cnn"), stats)
        stats.update(_describe("q/q1", q1.detach()) | _describe("q/q2", q2.detach()))
        stats["losses/critic"] = critic_loss.detach()
        stats["losses/td_error_abs"] = (q1.detach() - target_q).abs().mean()

        self.iteration += 1
        if self.iteration % td3.policy_delay == 0:   # delayed policy and target updates
            # the critic features of this update, detached (DrQ-v2): the critic's encoder
            # is not trained by the actor, and re-encoding would cost a CNN forward pass
            self._actor_step(obs_image, b["vector"], features.detach(), stats)
            for name, online in self.online.items():
                polyak(online, self.target[name], td3.tau)

        for group, params in self.groups.items():
            stats[f"params/{group}_norm"] = param_norm(params)
        metrics = dict(zip(stats, torch.stack([v.float().cpu() for v in stats.values()])
                           .tolist()))
        metrics["train/iteration"] = float(self.iteration)
        if buffer_fill is not None:
            metrics["buffer/fill"] = float(buffer_fill)
        self.watchdog.check(metrics)
        return metrics

    def _batch_images(self, b: dict) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """uint8 -> float once per batch, after random-shift augmentation (DrQ)."""
        if not self.config.observation.image:
            return None, None
        net = self.config.network
        images = []
        for key in ("image", "next_image"):
            x = b[key]
            if net.augment_pad > 0:   # obs and next obs shifted independently, as in DrQ
                x = random_shift(x, net.augment_pad, self.generator)
            images.append(image_to_float(x, net.channels_last))
        return images[0], images[1]

    def target_q(self, next_image: torch.Tensor | None, b: dict[str, torch.Tensor],
                 stats: dict | None = None) -> torch.Tensor:
        """TD3 target values from target networks only (float next images, batch tensors)."""
        td3, t = self.config.td3, self.target
        critic_features = fuse(t.get("critic_encoder"), next_image, b["next_vector"])
        # shared mode: target encoder features computed once, for target actor and critics
        actor_features = (fuse(t["actor_encoder"], next_image, b["next_vector"])
                          if "actor_encoder" in t else critic_features)
        next_action = t["actor_head"](actor_features)
        # target policy smoothing: clipped noise makes Q smooth around the target action
        noise = torch.randn(next_action.shape, generator=self.generator, device=self.device)
        noise = (noise * td3.policy_noise).clamp(-td3.noise_clip, td3.noise_clip)
        next_action = (next_action + noise).clamp(-1.0, 1.0)
        tq1, tq2 = t["critic_head"](critic_features, next_action)
        # clipped double Q; only a termination stops the bootstrap (truncation does not);
        # discount is gamma**m for an m-step return
        target = b["reward"] + (1.0 - b["terminated"]) * b["discount"] * torch.min(tq1, tq2)
        if stats is not None:
            stats.update(_describe("q/target", target))
        return target

    def _actor_step(self, obs_image, vector, critic_features, stats: dict) -> None:
        actor_features = (fuse(self.actor_encoder, obs_image, vector)
                          if self.actor_encoder is not None else critic_features)
        action = self.actor_head(actor_features)
        actor_loss = -self.critic_head.q1(critic_features, action).mean()
        self._step(self.actor_opt, actor_loss, ("actor_mlp", "actor_cnn"), stats)
        stats["losses/actor"] = actor_loss.detach()
        stats["actor/saturation"] = (action.detach().abs() > 0.99).float().mean()

    def _step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor,
              groups: tuple[str, ...], stats: dict) -> None:
        """Backward into this optimiser's parameters only, clip per group, step."""
        if not torch.isfinite(loss):
            return   # keep the last finite weights; the watchdog sees the NaN loss
        params = [p for g in groups for p in self.groups.get(g, [])]
        optimizer.zero_grad(set_to_none=True)
        # inputs= keeps the actor loss from leaving gradients in critic parameters
        loss.backward(inputs=params)
        td3 = self.config.td3
        for g in groups:
            if g in self.groups:
                pre, post = clip_group(self.groups[g], getattr(td3, f"max_grad_norm_{g}"))
                stats[f"grad/{g}_pre"], stats[f"grad/{g}_post"] = pre, post
        optimizer.step()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Everything an exact resume needs (tensors, numbers, strings: weights_only-safe)."""
        return {"online": {k: m.state_dict() for k, m in self.online.items()},
                "target": {k: m.state_dict() for k, m in self.target.items()},
                "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict(),
                "iteration": self.iteration, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        for k, m in self.online.items():
            m.load_state_dict(state["online"][k])
            self.target[k].load_state_dict(state["target"][k])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.iteration = int(state["iteration"])
        self.generator.set_state(state["generator"])


def _describe(prefix: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
    return {f"{prefix}_mean": x.mean(), f"{prefix}_min": x.min(), f"{prefix}_max": x.max()}
