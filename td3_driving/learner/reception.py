"""What the learner received from its agents: checked, stored, counted; ROS-free.

Every batch is checked completely (learner/intake.py) before it touches the replay buffer;
nothing is dropped silently: refused batches, duplicates, sequence gaps and steps lost
while the learner was down are all counted. Not thread-safe: the workspace serialises it
with sampling and saving.
"""

from __future__ import annotations

from typing import Any

from td3_driving.core.experience import StepBatch
from td3_driving.core.replay import AddReport, ReplayBuffer
from td3_driving.learner.intake import (
    EpisodeSummary,
    SequenceGuard,
    check_batch,
    check_episode,
)
from td3_driving.learner.metrics import EpisodeLog, PolicyLag

# counters kept across resumes (checkpoint "extra") and reported in results.json
COUNTERS = ("steps_received", "steps_dropped", "batches_dropped", "duplicates", "gaps",
            "missing_steps", "broken_links", "episodes_refused")


class Reception:
    """The replay buffer's intake and the tallies of what arrived and what did not."""

    def __init__(self, buffer: ReplayBuffer, vector_size: int, action_size: int,
                 reward_bound: float, max_agent_steps_per_s: float) -> None:
        self.buffer = buffer
        self.vector_size, self.action_size = vector_size, action_size
        self.reward_bound = reward_bound
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.refusals: dict[str, int] = {}    # refused messages per "kind.field"
        self.sequences = SequenceGuard(max_agent_steps_per_s)
        self.lag = PolicyLag()
        self.episodes = EpisodeLog()
        self._refused: dict[str, int] = {}    # refused steps per agent not yet seen as a gap
        # newest sequence number stored per agent; kept in checkpoints so that a resumed
        # learner counts what its surviving agents sent meanwhile as lost, not silently
        self._last_seq: dict[str, int] = {}
        self._resumed_seq: dict[str, int] = {}

    def receive(self, batch: StepBatch, now: float, newest_version: int) -> AddReport:
        """Store a batch; ValueError (nothing stored, nothing changed) if it is unusable."""
        check_batch(batch, self.buffer.frame_shape, self.vector_size, self.action_size,
                    self.reward_bound)
        self.sequences.check(batch, now)
        report = self.buffer.add(batch)
        self.sequences.accepted(batch, now)
        self.lag.add(newest_version, batch.policy_version)
        self._count_lost_while_down(batch, report)
        if len(batch):
            self._last_seq[batch.agent_id] = max(self._last_seq.get(batch.agent_id, -1),
                                                 int(batch.sequence.max()))
        c = self.counts
        c["steps_received"] += report.steps_added
        c["duplicates"] += sum(report.dropped.values())
        c["gaps"] += sum(report.gaps.values())
        c["missing_steps"] += sum(report.missing_steps.values())
        c["broken_links"] += sum(report.broken_links.values())
        c["steps_dropped"] += sum(report.dropped.values())
        for agent, missing in report.missing_steps.items():
            # steps of a refused batch reappear as this gap: count them once
            known = min(missing, self._refused.get(agent, 0))
            self._refused[agent] = self._refused.get(agent, 0) - known
            c["steps_dropped"] += missing - known
        return report

    def _count_lost_while_down(self, batch: StepBatch, report: AddReport) -> None:
        """After a resume: steps an agent sent after the checkpoint are a gap (lost)."""
        last = self._resumed_seq.pop(batch.agent_id, None)
        if last is None or not len(batch):
            return
        missing = int(batch.sequence[0]) - last - 1
        if missing > 0:   # (a producer that restarted its numbering lost nothing known)
            report.count(report.gaps, batch.agent_id)
            report.count(report.missing_steps, batch.agent_id, missing)

    def refused(self, agent_id: str, steps: int, field: str, leaves_gap: bool) -> None:
        """Count a batch that could not be used at all (see Learner.refused)."""
        self.counts["batches_dropped"] += 1
        self.counts["steps_dropped"] += steps
        self._count_refusal(f"experience.{field}")
        if leaves_gap:
            self._refused[agent_id] = self._refused.get(agent_id, 0) + steps

    def _count_refusal(self, key: str) -> None:
        self.refusals[key] = self.refusals.get(key, 0) + 1

    def episode(self, episode: EpisodeSummary) -> None:
        """Keep one episode's statistics; RefusedMessage (counted) if no agent sends such."""
        try:
            check_episode(episode, self.reward_bound)
        except ValueError as exc:
            self.counts["episodes_refused"] += 1
            self._count_refusal(f"episode.{getattr(exc, 'field', 'message')}")
            raise
        self.episodes.add(episode.episode_return, episode.native_score)

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (JSON-able)."""
        return {**self.counts, "episodes": self.episodes.state(),
                "last_sequence": dict(self._last_seq),
                "sequence_guard": self.sequences.state()}

    def load_state(self, extra: dict[str, Any]) -> None:
        for key in COUNTERS:
            self.counts[key] = int(extra.get(key, 0))
        self.sequences.load_state(extra.get("sequence_guard", {}))
        self.episodes.load_state(extra.get("episodes", EpisodeLog().state()))
        self._resumed_seq = {k: int(v) for k, v in extra.get("last_sequence", {}).items()}
        self._last_seq = dict(self._resumed_seq)
