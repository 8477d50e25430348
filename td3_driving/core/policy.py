"""The deployable policy: actor + its encoder + preprocessing + action scaling, no learner.

One safetensors blob serves both the policy file and the weights topic's payload: tensors
of the actor (``encoder.*``, ``head.*``) and, in its metadata, the architecture JSON
(observation/preprocessing config, network sizes, action size and action config). Agents
that receive weights refuse an architecture different from their own.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import safetensors.torch
import torch

from td3_driving.core.config import ActionConfig, NetworkConfig, ObservationConfig
from td3_driving.core.config_base import ConfigError, from_mapping, to_dict
from td3_driving.core.files import atomic_write
from td3_driving.core.networks import Actor, ActorHead, Encoder, feature_dim, image_to_float

FORMAT = "td3_driving.policy/1"
# the network fields that shape the actor (encoder_mode and augmentation only matter to
# the learner); memory format and precision pick the kernels, so the policy uses the
# learner's to act bit-identically
_ACTOR_FIELDS = ("conv_channels", "conv_kernels", "conv_strides", "feature_dim",
                 "hidden_sizes", "channels_last", "encoder_precision")


class PolicyError(ValueError):
    """A policy file or payload is unreadable or does not fit."""


def architecture_json(obs: ObservationConfig, net: NetworkConfig, action_size: int,
                      action: ActionConfig) -> str:
    """Canonical JSON (sorted keys, no spaces): equal architectures give equal strings."""
    network = {k: v for k, v in to_dict(net).items() if k in _ACTOR_FIELDS}
    arch = {"format": FORMAT, "observation": to_dict(obs), "network": network,
            "action_size": action_size, "action": to_dict(action)}
    return json.dumps(arch, sort_keys=True, separators=(",", ":"))


def actor_payload(agent, deployed: bool = False) -> tuple[str, bytes]:
    """(architecture JSON, safetensors bytes) of the agent's actor.

    The online actor (what training agents explore with), or with ``deployed`` the
    agent's deployed actor (the policy file).
    """
    cfg = agent.config
    arch = architecture_json(cfg.observation, cfg.network, cfg.action_size, cfg.action)
    actor = agent.deployed_actor if deployed else agent.actor
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in actor.state_dict().items()}
    return arch, safetensors.torch.save(tensors, metadata={"architecture": arch})


def export_policy(agent, path: str | Path) -> None:
    """Write the policy file (atomically): the agent's deployed actor."""
    _, data = actor_payload(agent, deployed=True)
    atomic_write(Path(path), lambda f: f.write(data))


def _metadata(data: bytes, where: str) -> dict:
    """The safetensors header's __metadata__ (8-byte little-endian length, then JSON)."""
    try:
        (length,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + length])
        return header.get("__metadata__") or {}
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{where}: not a safetensors policy payload ({exc})") from None


def _canonical(arch_json: str, where: str) -> str:
    try:
        arch = json.loads(arch_json)
    except ValueError as exc:
        raise PolicyError(f"{where}: architecture is not JSON ({exc})") from None
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        raise PolicyError(f"{where}: architecture format is not {FORMAT}")
    return json.dumps(arch, sort_keys=True, separators=(",", ":"))


class Policy:
    """Inference-only actor; ``act`` is deterministic (no exploration noise)."""

    def __init__(self, architecture: str, threads: int | None = None) -> None:
        self.architecture = _canonical(architecture, "Policy")
        arch = json.loads(self.architecture)
        try:
            self.observation = from_mapping(ObservationConfig, arch["observation"])
            self.action = from_mapping(ActionConfig, arch["action"])
            net = from_mapping(NetworkConfig, arch["network"])
            self.action_size = int(arch["action_size"])
        except (ConfigError, KeyError, TypeError) as exc:
            raise PolicyError(f"Policy: architecture does not describe an actor: {exc}") \
                from None
        if threads is not None:
            torch.set_num_threads(threads)
        encoder = Encoder(self.observation, net) if self.observation.image else None
        head = ActorHead(feature_dim(self.observation, net), net.hidden_sizes,
                         self.action_size)
        self.channels_last = net.channels_last
        self.actor = Actor(encoder, head).eval().requires_grad_(False)
        if self.channels_last:
            self.actor.to(memory_format=torch.channels_last)

    @classmethod
    def load(cls, path: str | Path, threads: int | None = None) -> "Policy":
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read policy file ({exc})") from None
        arch = _metadata(data, str(path)).get("architecture")
        if arch is None:
            raise PolicyError(f"{path}: safetensors file without a policy architecture")
        policy = cls(arch, threads)
        policy.load_payload(data, arch, where=str(path))
        return policy

    @classmethod
    def from_payload(cls, architecture: str, data: bytes) -> "Policy":
        policy = cls(architecture)
        policy.load_payload(data, architecture)
        return policy

    def load_payload(self, data: bytes, architecture: str, where: str = "payload") -> None:
        """Hot-swap weights; refuses a different architecture or a damaged payload."""
        if _canonical(architecture, where) != self.architecture:
            raise PolicyError(f"{where}: architecture differs from this policy's; "
                              f"got {architecture}, have {self.architecture}")
        if _metadata(data, where).get("architecture") != architecture:
            raise PolicyError(f"{where}: payload metadata does not match its architecture")
        try:
            tensors = safetensors.torch.load(bytes(data))
            self.actor.load_state_dict(tensors, strict=True)
        except Exception as exc:   # safetensors and torch raise several types for bad data
            raise PolicyError(f"{where}: weights do not load into the actor: {exc}") from None

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Deterministic action in [-1, 1] for one observation (or a batch)."""
        single = np.ndim(obs["vector"]) == 1
        vector = array_tensor(obs["vector"], np.float32)
        image = None
        if self.observation.image:
            image = array_tensor(obs["image"], np.uint8)
            image = image_to_float(image[None] if single else image, self.channels_last)
        with torch.inference_mode():
            action = self.actor(image, vector[None] if single else vector).numpy()
        return action[0] if single else action


def array_tensor(values, dtype) -> torch.Tensor:
    """``values`` as a tensor, without copying unless they are read-only (a recording's
    or a shared buffer's arrays: torch warns that it cannot protect those).
    """
    array = np.asarray(values, dtype)
    return torch.as_tensor(array if array.flags.writeable else array.copy())
