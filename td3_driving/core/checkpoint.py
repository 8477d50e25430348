"""Full learner checkpoints that resume exactly, without pickle.

A checkpoint holds the online and target networks, both optimisers, the update counter,
the agent's noise generator, the global torch / numpy / python RNG states, the caller's
numpy Generator, and the configuration as JSON; the replay buffer optionally, next to it as
``<path>.replay.npz``. Files are written to a temporary name and renamed, so a crash never
leaves a half-written checkpoint under the real name. Loading uses
``torch.load(weights_only=True)``: only tensors and plain containers are accepted.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import ConfigError, from_mapping, to_dict
from td3_driving.core.files import atomic_write
from td3_driving.core.replay import ReplayBuffer
from td3_driving.core.td3 import TD3Agent

FORMAT = "td3_driving.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint is unreadable, corrupted or does not fit the agent it is loaded into."""


def _replay_path(path: Path) -> Path:
    return path.with_name(path.name + ".replay.npz")


def save_checkpoint(path: str | Path, agent: TD3Agent, buffer: ReplayBuffer | None = None,
                    rng: np.random.Generator | None = None,
                    extra: dict[str, Any] | None = None) -> None:
    """Write the full learner state; ``extra`` holds JSON-able counters of the caller."""
    path = Path(path)
    legacy = np.random.get_state()   # (name, keys, pos, has_gauss, cached_gaussian)
    assert isinstance(legacy, tuple)
    payload = {
        "format": FORMAT,
        "config_json": json.dumps(to_dict(agent.config), sort_keys=True),
        "agent": agent.state_dict(),
        "rng": {"torch": torch.get_rng_state(),
                "numpy_legacy": json.dumps([legacy[0], legacy[1].tolist(), *legacy[2:]]),
                "python": json.dumps(random.getstate()),
                "generator": json.dumps(rng.bit_generator.state) if rng else ""},
        "extra_json": json.dumps(extra or {}),
    }
    if buffer is not None:   # buffer first: a checkpoint never points at a missing buffer
        buffer.save(_replay_path(path))
    atomic_write(path, lambda f: torch.save(payload, f))


def _read(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # zip, unpickler and size errors all mean the same to a user
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated, corrupted or "
                              f"not written by save_checkpoint): {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} file (format "
                              f"{payload.get('format') if isinstance(payload, dict) else '?'})")
    return payload


def read_checkpoint_config(path: str | Path) -> LearnerConfig:
    """The configuration a checkpoint was written with, to build a matching agent."""
    path = Path(path)
    try:
        return from_mapping(LearnerConfig, json.loads(_read(path)["config_json"]))
    except ConfigError as exc:
        raise CheckpointError(f"{path}: stored configuration is invalid: {exc}") from None


def load_checkpoint(path: str | Path, agent: TD3Agent, buffer: ReplayBuffer | None = None,
                    rng: np.random.Generator | None = None) -> dict[str, Any]:
    """Restore ``agent`` (and ``buffer``, ``rng``, global RNGs); return the ``extra`` dict.

    The networks must have the same architecture (observation, network sizes and
    encoder_mode, action size), else CheckpointError names the differences.
    """
    path = Path(path)
    payload = _read(path)
    stored = _shape_fields(json.loads(payload["config_json"]))
    current = _shape_fields(to_dict(agent.config))
    diffs = [f"{k}: stored {stored.get(k)!r}, agent {v!r}" for k, v in current.items()
             if stored.get(k) != v]
    if diffs:
        raise CheckpointError(f"{path}: checkpoint does not fit this agent: "
                              + "; ".join(diffs))
    try:
        agent.load_state_dict(payload["agent"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{path}: network state does not load: {exc}") from None
    if buffer is not None:
        replay = _replay_path(path)
        if not replay.is_file():
            raise CheckpointError(f"{path}: no replay buffer saved with it ({replay})")
        buffer.load(replay)
    states = payload["rng"]
    torch.set_rng_state(states["torch"])
    legacy = json.loads(states["numpy_legacy"])
    np.random.set_state((legacy[0], np.array(legacy[1], np.uint32), *legacy[2:]))
    random.setstate(_tuples(json.loads(states["python"])))
    if rng is not None:
        if not states["generator"]:
            raise CheckpointError(f"{path}: saved without a numpy Generator state")
        rng.bit_generator.state = json.loads(states["generator"])
    return json.loads(payload["extra_json"])


def _shape_fields(config: dict) -> dict:
    """The settings that determine the networks' parameters (augmentation, precision and
    memory format may change between runs).
    """
    net = config.get("network", {})
    return {"observation": config.get("observation"), "action_size": config.get("action_size"),
            **{f"network.{k}": net.get(k) for k in (
                "encoder_mode", "conv_channels", "conv_kernels", "conv_strides",
                "feature_dim", "hidden_sizes")}}


def _tuples(value: Any) -> Any:
    """JSON turned random.getstate()'s tuples into lists; turn them back."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
