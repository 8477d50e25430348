"""What a peer's message must satisfy before it may change the learner's state, ROS-free.

Every message the learner receives comes from a peer it cannot trust to be bug-free (or
honest): one batch must never end the run, stop training or poison an agent's later
batches. Each check here refuses a message whole, naming the field and what to do; the
node logs the refusal with its topic and the workspace counts it. The checks go beyond
the message's self-consistency (sizes, finiteness: StepBatch.validate) to the ranges the
configuration implies: rewards within the reward's own bound, sequence numbers that a real
agent could have reached (docs/reliability.md lists every case and its test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from td3_driving.core.config_base import ConfigError
from td3_driving.core.experience import StepBatch
from td3_driving.task.config import RewardConfig

AGENT_ID_MAX_CHARS = 256
# Sequence numbers and episode ids are uint64 on the wire; the learner sums and subtracts
# them as int64 (gaps, checkpoints), so anything above this cannot be a real counter.
COUNTER_MAX = 2**63 - 1
# float32 rounding of a reward that sits exactly on its bound
_REWARD_TOLERANCE = 1e-5


def reward_step_bound(reward: RewardConfig, gamma: float) -> float:
    """The largest |reward| one step of ``reward`` can give: the watchdog's Q bound comes
    from it, and a received reward beyond it is refused. One source: the reward's own
    configuration.

    A reward under which finishing the route earns less than a time-limit truncation can
    bootstrap at discount ``gamma`` is refused here (ConfigError), before any training.
    """
    try:
        reward.check_discount(gamma)
    except ValueError as exc:
        raise ConfigError(f"reward: {exc}") from None
    return float(reward.step_bound())


class RefusedMessage(ValueError):
    """A message that must not change any state: which field, what is wrong, what to do."""

    def __init__(self, field: str, problem: str, remedy: str) -> None:
        super().__init__(f"{field}: {problem}; {remedy}")
        self.field = field


def check_agent_id(agent_id: object) -> None:
    if not isinstance(agent_id, str) or not agent_id:
        raise RefusedMessage("agent_id", "empty", "set it to the agent's unique name")
    if len(agent_id) > AGENT_ID_MAX_CHARS or not agent_id.isprintable():
        raise RefusedMessage("agent_id", f"{len(agent_id)} characters or unprintable",
                             f"use at most {AGENT_ID_MAX_CHARS} printable characters")


def check_batch(batch: StepBatch, frame_shape: tuple[int, int, int], vector_size: int,
                action_size: int, reward_bound: float) -> None:
    """Raise ValueError (RefusedMessage where a field is named) unless ``batch`` is usable."""
    check_agent_id(batch.agent_id)
    batch.validate(frame_shape, vector_size, action_size)
    if not len(batch):
        return
    for name in ("sequence", "episode_id"):
        top = int(getattr(batch, name).max())
        if top > COUNTER_MAX:
            raise RefusedMessage(name, f"{top} is beyond any real counter (max {COUNTER_MAX})",
                                 "the producer's counter is corrupt; restart that agent")
    sequence = batch.sequence.astype(np.int64)
    if (np.diff(sequence) != 1).any():
        raise RefusedMessage("sequence", "not consecutive within the batch",
                             "a batch carries consecutive steps of one agent (+1 per step)")
    if (np.diff(batch.episode_id.astype(np.int64)) < 0).any():
        raise RefusedMessage("episode_id", "decreases within the batch",
                             "episode ids only grow within an agent's stream")
    worst = float(np.abs(batch.rewards).max())
    if worst > reward_bound * (1 + _REWARD_TOLERANCE) + _REWARD_TOLERANCE:
        raise RefusedMessage(
            "rewards", f"|reward| {worst:.6g} exceeds the reward's bound {reward_bound:.6g}",
            "agents and learner must use the same reward.* parameters (the same reward "
            "file); LearnerStatus.reward_bound shows the learner's")


@dataclass(frozen=True)
class EpisodeSummary:
    """The fields of one EpisodeStats message that the learner keeps."""

    agent_id: str
    episode_return: float
    length: int
    native_score: float
    route_completion: float
    evaluation: bool


def check_episode(episode: EpisodeSummary, reward_bound: float) -> None:
    """Raise RefusedMessage unless the statistics are ones an agent could report.

    NaN means "not computed" (as the message says) and is kept; an infinite value or a
    return that its length cannot earn is not.
    """
    check_agent_id(episode.agent_id)
    for name in ("episode_return", "native_score", "route_completion"):
        if math.isinf(getattr(episode, name)):
            raise RefusedMessage(name, "is infinite", "send a finite value, or NaN if unknown")
    limit = reward_bound * max(episode.length, 1) * (1 + _REWARD_TOLERANCE) + _REWARD_TOLERANCE
    if abs(episode.episode_return) > limit:   # (False for NaN)
        raise RefusedMessage("episode_return",
                             f"{episode.episode_return:.6g} is beyond what {episode.length} "
                             f"steps of at most {reward_bound:.6g} can earn",
                             "agents and learner must use the same reward.* parameters")
    if not 0.0 <= episode.route_completion <= 1.0 and not math.isnan(episode.route_completion):
        raise RefusedMessage("route_completion", f"{episode.route_completion} is outside 0..1",
                             "report the fraction of the route completed")


class SequenceGuard:
    """Refuses a sequence jump that no real agent could have made since its last batch.

    An agent numbers its steps +1 each; between two of its batches the number can grow by
    at most the steps it could produce in the time between (``max_steps_per_s``, plus
    ``grace_s`` for batches queued in transport). A larger jump is a corrupt or forged
    batch: believing it would make every later batch of that agent look like a duplicate.
    Wall-clock time, so that a checkpoint can carry it across a learner restart.
    """

    def __init__(self, max_steps_per_s: float, grace_s: float = 60.0) -> None:
        self.max_steps_per_s, self.grace_s = max_steps_per_s, grace_s
        self.last: dict[str, tuple[int, float]] = {}   # agent -> (newest sequence, when)

    def check(self, batch: StepBatch, now: float) -> None:
        known = self.last.get(batch.agent_id)
        if known is None or not len(batch):
            return
        sequence, when = known
        jump = int(batch.sequence[-1]) - sequence
        elapsed = max(0.0, now - when)
        possible = len(batch) + self.max_steps_per_s * (elapsed + self.grace_s)
        if jump > possible:
            raise RefusedMessage(
                "sequence", f"jumps by {jump} steps {elapsed:.0f} s after the agent's previous "
                f"batch (at most {possible:.0f} possible at {self.max_steps_per_s:g} steps/s)",
                "not believed; the agent's later batches are used as before (a restarted "
                "agent must use a new agent_id)")

    def accepted(self, batch: StepBatch, now: float) -> None:
        if len(batch):
            newest = int(batch.sequence[-1])
            previous = self.last.get(batch.agent_id, (-1, now))[0]
            self.last[batch.agent_id] = (max(newest, previous), now)

    def state(self) -> dict[str, list]:
        return {agent: [seq, when] for agent, (seq, when) in self.last.items()}

    def load_state(self, state: dict[str, list]) -> None:
        self.last = {agent: (int(seq), float(when)) for agent, (seq, when) in state.items()}
