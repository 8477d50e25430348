"""The critic's Q estimate of the actions a policy takes, from the run's checkpoint.

A policy file holds the actor only; the twin critics live in the learner's checkpoints
(``<run>/checkpoints/ckpt_*.pt``, or ``<run>/checkpoint.pt`` of the in-process trainer).
The estimate recorded is min(Q1, Q2), the clipped double-Q value TD3's targets use.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from td3_driving.core.checkpoint import load_checkpoint, read_checkpoint_config
from td3_driving.core.networks import fuse, image_to_float
from td3_driving.core.policy import array_tensor
from td3_driving.core.td3 import TD3Agent


def find_checkpoint(policy: str | Path) -> Path | None:
    """The newest checkpoint of the run a policy file was exported into, if any."""
    run = Path(policy).resolve().parent
    learner = sorted((run / "checkpoints").glob("ckpt_*.pt"))
    if learner:
        return learner[-1]
    trainer = run / "checkpoint.pt"
    return trainer if trainer.is_file() else None


class CriticQ:
    """min(Q1, Q2)(observation, action) with the critics of one checkpoint, on the CPU."""

    def __init__(self, checkpoint: str | Path) -> None:
        self.path = Path(checkpoint)
        config = read_checkpoint_config(self.path)
        # one thread and the CPU: an evaluation runs next to a simulator on a shared machine
        config = dataclasses.replace(config, device="cpu", torch_threads=1)
        self.agent = TD3Agent(config)
        load_checkpoint(self.path, self.agent)
        self.updates = self.agent.iteration

    def same_actor(self, actor: torch.nn.Module) -> bool:
        """True when ``actor`` (e.g. a Policy's) has exactly this checkpoint's deployed actor."""
        ours, theirs = self.agent.deployed_actor.state_dict(), actor.state_dict()
        return ours.keys() == theirs.keys() and all(
            torch.equal(ours[k].cpu(), theirs[k].cpu()) for k in ours)

    def __call__(self, obs: dict[str, np.ndarray], action: np.ndarray) -> float:
        agent = self.agent
        with torch.inference_mode():
            image = None
            if agent.config.observation.image:
                image = image_to_float(array_tensor(obs["image"], np.uint8)[None],
                                       agent.config.network.channels_last)
            vector = array_tensor(obs["vector"], np.float32)[None]
            features = fuse(agent.critic_encoder, image, vector)
            q1, q2 = agent.critic_head(features, array_tensor(action, np.float32)[None])
        return float(torch.min(q1, q2))
