"""When the learner may update, publish weights and checkpoint, ROS-free.

Update-to-data (UTD) with backpressure (docs/architecture.md: one agent produces data ~7x
faster than a pixel learner updates). With S steps received, U updates done,
``learning_starts`` L and ratio r, counted from an origin (S0, U0) where the current
warm-up began:

    updates due    = floor((S - S0 - L) * r) - (U - U0)
    steps allowed  = S0 + L + floor((U - U0) / r) + slack

Agents stop sending while the total would pass ``steps allowed``, so data never runs more
than ``slack`` steps ahead of the updates and the ratio converges to r.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

UNLIMITED = 2**64 - 1  # steps_allowed when no ratio is enforced (uint64 max on the wire)


@dataclass
class UpdateToDataLimiter:
    """Decides how many updates may run now and how many steps agents may send."""

    ratio: float           # updates per received step (TD3Config.update_to_data)
    learning_starts: int   # steps received before the first update
    slack: int             # steps agents may send beyond what the done updates justify
    origin_steps: int = 0
    origin_updates: int = 0

    def __post_init__(self) -> None:
        if self.ratio < 0 or self.learning_starts < 0 or self.slack < 0:
            raise ValueError(f"UpdateToDataLimiter: ratio, learning_starts and slack must be "
                             f">= 0 (got {self.ratio}, {self.learning_starts}, {self.slack})")

    def restart(self, steps_received: int, updates: int) -> None:
        """Count a fresh warm-up from here (a resume whose replay buffer was not saved)."""
        self.origin_steps, self.origin_updates = steps_received, updates

    def _data(self, steps_received: int) -> int:
        return steps_received - self.origin_steps - self.learning_starts

    def training(self, steps_received: int) -> bool:
        """Whether the warm-up is over (and updates are enabled at all)."""
        return self.ratio > 0 and self._data(steps_received) > 0

    def updates_due(self, steps_received: int, updates: int) -> int:
        """Updates that may run now without exceeding the ratio."""
        if not self.training(steps_received):
            return 0
        # a tiny epsilon keeps e.g. 0.1 * 30 = 2.9999999999999996 from losing an update
        target = math.floor(self._data(steps_received) * self.ratio + 1e-9)
        return max(0, target - (updates - self.origin_updates))

    def steps_allowed(self, updates: int) -> int:
        """Total steps received that agents may reach before they must wait."""
        if self.ratio == 0:
            return UNLIMITED
        justified = math.floor((updates - self.origin_updates) / self.ratio + 1e-9)
        return self.origin_steps + self.learning_starts + justified + self.slack

    def measured_ratio(self, steps_received: int, updates: int) -> float:
        """Updates per step received since learning started (0 during the warm-up)."""
        data = self._data(steps_received)
        return (updates - self.origin_updates) / data if data > 0 else 0.0

    def state(self) -> dict[str, int]:
        return {"origin_steps": self.origin_steps, "origin_updates": self.origin_updates}

    def load_state(self, state: dict[str, Any]) -> None:
        self.origin_steps = int(state["origin_steps"])
        self.origin_updates = int(state["origin_updates"])


class WeightsSchedule:
    """Publish weights at most once per ``period_s``, only when the actor has changed.

    The first publication (version 1) is not delayed: agents act randomly until they get
    weights, so they should get them right after the first actor update.
    """

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.last_time = -math.inf
        self.last_actor_updates = 0

    def due(self, now: float, actor_updates: int) -> bool:
        return (actor_updates > self.last_actor_updates
                and now - self.last_time >= self.period_s)

    def published(self, now: float, actor_updates: int) -> None:
        self.last_time, self.last_actor_updates = now, actor_updates


def actor_updates(iteration: int, policy_delay: int) -> int:
    """Actor (and target) updates TD3 has done after ``iteration`` critic updates."""
    return iteration // policy_delay


class CheckpointSchedule:
    """A checkpoint every ``period_updates`` updates or ``period_s`` seconds (0 = off),
    whichever comes first, and only when something was learnt since the last one.
    """

    def __init__(self, period_updates: int, period_s: float, now: float,
                 updates: int = 0) -> None:
        self.period_updates, self.period_s = period_updates, period_s
        self.last_time, self.last_updates = now, updates

    def due(self, now: float, updates: int) -> bool:
        new = updates - self.last_updates
        if new <= 0:
            return False
        by_count = self.period_updates > 0 and new >= self.period_updates
        by_time = self.period_s > 0 and now - self.last_time >= self.period_s
        return by_count or by_time

    def done(self, now: float, updates: int) -> None:
        self.last_time, self.last_updates = now, updates
