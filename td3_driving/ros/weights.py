"""Accepting policy weights from the weights topic: verify completely, then hot-swap."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import torch

from td3_driving.core.policy import Policy, PolicyError
from td3_driving.msg import PolicyWeights

FORMAT = "safetensors"
# The experience message carries the acting weights' version as uint32 per step.
MAX_VERSION = 2**32 - 1


def verify(msg: PolicyWeights) -> bytes:
    """The payload bytes of ``msg`` after checking format and sha256; PolicyError otherwise."""
    if msg.format != FORMAT:
        raise PolicyError(f"format is '{msg.format}', expected '{FORMAT}'")
    data = bytes(msg.data)
    digest = hashlib.sha256(data).hexdigest()
    if digest != msg.sha256:
        raise PolicyError(f"sha256 mismatch: header says {msg.sha256[:16]}..., data hashes to "
                          f"{digest[:16]}... ({len(data)} bytes)")
    return data


class WeightsGate:
    """Turns verified PolicyWeights into a Policy that acts; refuses anything else.

    ``expected_observation`` is what this agent feeds the actor: weights built for another
    observation layout would act on garbage, so they are refused. A refusal raises
    PolicyError and leaves ``version`` (and so the caller's acting policy) as it was.
    """

    def __init__(self, expected_observation, threads: int = 1, action_size: int = 2) -> None:
        self.expected_observation = expected_observation
        self.threads = threads
        self.action_size = action_size
        self.version = 0

    def accept(self, msg: PolicyWeights) -> Policy:
        """A new Policy holding ``msg``'s weights; the caller swaps it in between two steps.

        The topic is reliable, depth 1, with one publisher: one learner never sends an older
        version after a newer one. A lower version therefore comes from a restarted learner
        (resumed from a checkpoint older than its last publication, or a new run) and is
        accepted; the same version again is a duplicate and refused.
        """
        version = int(msg.version)
        if version == self.version:
            raise PolicyError(f"version {version} is the one already in use (duplicate)")
        if version == 0:
            raise PolicyError("version 0 is reserved for 'no weights yet'")
        if version > MAX_VERSION:
            raise PolicyError(f"version {version} does not fit the experience message's "
                              f"uint32 policy_version (at most {MAX_VERSION}); the learner "
                              "must number its weights within that range")
        data = verify(msg)
        policy = self._build(msg.architecture)
        policy.load_payload(data, msg.architecture, where="data")
        self._check_acts(policy)
        self.version = version
        return policy

    def _build(self, architecture: str) -> Policy:
        try:
            policy = Policy(architecture, threads=self.threads)
        except PolicyError:
            raise
        except Exception as exc:   # torch and the config checks raise several types
            raise PolicyError(f"architecture cannot be built here ({type(exc).__name__}: "
                              f"{exc})") from None
        if policy.observation != self.expected_observation:
            raise PolicyError("architecture.observation differs from this agent's observation "
                              f"config: {policy.observation} vs {self.expected_observation}")
        if policy.action_size != self.action_size:
            raise PolicyError(f"architecture.action_size is {policy.action_size}, this agent "
                              f"acts with {self.action_size}")
        return policy

    def _check_acts(self, policy: Policy) -> None:
        """Finite tensors, and one finite action of the right size on a blank observation."""
        for name, tensor in policy.actor.state_dict().items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise PolicyError(f"data: tensor {name} has NaN or Inf values")
        obs = self.expected_observation
        probe = {"image": np.zeros(obs.image_shape, np.uint8),
                 "vector": np.zeros(obs.vector_size, np.float32)}
        try:
            action = np.asarray(policy.act(probe), np.float64)
        except Exception as exc:   # a network that builds but cannot run on our inputs
            raise PolicyError(f"the actor does not run on this agent's observation "
                              f"({type(exc).__name__}: {exc})") from None
        if action.shape != (self.action_size,) or not np.isfinite(action).all():
            raise PolicyError(f"the actor's action on a blank observation is {action.tolist()}; "
                              f"expected {self.action_size} finite values")


def load_start_policy(policy_file: str, observation, training: bool,
                      threads: int) -> Policy | None:
    """The agent's policy file, if any; PolicyError when it cannot serve this agent.

    'drive' mode needs one and adopts its observation config; in 'train' mode it is the
    start weights and must match the observation.* parameters, which the learner's
    networks share (both read the same params file).
    """
    if not policy_file:
        if not training:
            raise PolicyError("mode 'drive' needs policy_file:=<policy.safetensors>")
        return None
    policy = Policy.load(policy_file, threads=threads)
    if training and policy.observation != observation:
        raise PolicyError(f"{policy_file}: trained with another observation config "
                          f"({_differences(policy.observation, observation)}); in 'train' "
                          "mode start weights must match the observation.* parameters: use "
                          "a matching params file or no policy_file")
    return policy


def _differences(theirs, ours) -> str:
    """'field: theirs vs ours' for every field of two configs of one dataclass that differ."""
    return ", ".join(f"{f.name}: {getattr(theirs, f.name)!r} in the file vs "
                     f"{getattr(ours, f.name)!r} here" for f in dataclasses.fields(ours)
                     if getattr(theirs, f.name) != getattr(ours, f.name))
