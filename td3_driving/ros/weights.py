"""Accepting policy weights from the weights topic: verify, then hot-swap."""

from __future__ import annotations

import hashlib

from td3_driving.core.policy import Policy, PolicyError
from td3_driving.msg import PolicyWeights

FORMAT = "safetensors"


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
    """Turns verified PolicyWeights into a Policy; refuses old versions and other architectures.

    ``expected_observation`` is what this agent feeds the actor: weights built for another
    observation layout would act on garbage, so they are refused.
    """

    def __init__(self, expected_observation, threads: int = 1) -> None:
        self.expected_observation = expected_observation
        self.threads = threads
        self.version = 0

    def accept(self, msg: PolicyWeights) -> Policy:
        """A new Policy holding ``msg``'s weights; the caller swaps it in between two steps.

        The topic is reliable, depth 1, with one publisher: one learner never sends an older
        version after a newer one. A lower version therefore comes from a restarted learner
        (resumed from a checkpoint older than its last publication, or a new run) and is
        accepted; the same version again is a duplicate and refused.
        """
        if msg.version == self.version:
            raise PolicyError(f"version {msg.version} is the one already in use (duplicate)")
        if msg.version == 0:
            raise PolicyError("version 0 is reserved for 'no weights yet'")
        data = verify(msg)
        policy = Policy(msg.architecture, threads=self.threads)
        if policy.observation != self.expected_observation:
            raise PolicyError("architecture.observation differs from this agent's observation "
                              f"config: {policy.observation} vs {self.expected_observation}")
        policy.load_payload(data, msg.architecture, where="data")
        self.version = int(msg.version)
        return policy
