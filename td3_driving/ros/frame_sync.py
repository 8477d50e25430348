"""Assemble one simulator frame from the bridge's per-topic messages, by header stamp.

carla-ros-bridge publishes each tick's camera image, odometry and vehicle status with the
same sim-time stamp, on separate topics, in no guaranteed order. A frame is complete when
every required part with one stamp has arrived. Event topics (collision, lane invasion)
may arrive a frame late, so they are latched (as flags) and handed out with the next
complete frame. Plain Python (no rclpy), so the logic is unit-tested without a graph.

Stamps that one stray message could use to stall the agent are kept apart:
- a part stamped at or before the newest complete frame is stale: ignored and counted (a
  simulator restart is not guessed from stamps: :meth:`FrameAssembler.simulator_frame`
  learns it from the simulator's frame counter on /carla/status, docs/reliability.md);
- a part stamped more than ``max_ahead_ns`` after the newest complete frame takes no
  pending slot: it waits in a single slot of its own (a newer such stamp replaces it) and
  completes only if every part of that frame arrives, as a simulator that really jumped
  ahead sends them. Counted as ``ahead``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Frame:
    """All parts of one tick, plus the event kinds latched since the previous frame."""

    stamp_ns: int
    parts: dict
    events: frozenset = field(default_factory=frozenset)


@dataclass
class SyncCounters:
    """What the assembler had to throw away, so that nothing is dropped silently."""

    stale: int = 0        # parts older than (or equal to) the last complete frame
    duplicate: int = 0    # the same part twice for one pending stamp
    incomplete: int = 0   # pending stamps abandoned because newer frames completed
    ahead: int = 0        # parts stamped more than max_ahead_ns after the last frame


class FrameAssembler:
    """Collects parts per stamp; ``add`` returns the Frame that a part completes.

    ``warn(cause, text)`` hears of every part set aside (``names`` gives each part's topic
    for the text); the caller throttles per cause.
    """

    def __init__(self, required: tuple[str, ...], max_pending: int = 16,
                 max_ahead_ns: int | None = None,
                 warn: Callable[[str, str], None] | None = None,
                 names: dict[str, str] | None = None):
        self.required = frozenset(required)
        self.max_pending = max_pending
        self.max_ahead_ns = max_ahead_ns
        self.counters = SyncCounters()
        self._pending: dict[int, dict] = {}
        self._ahead: tuple[int, dict] | None = None
        self._events: set[str] = set()
        self.last_stamp_ns = -1
        self.sim_frame: int | None = None   # the simulator's frame counter, last seen
        self._warn = warn or (lambda cause, text: None)
        self._names = names or {}

    def add(self, part: str, stamp_ns: int, payload) -> Frame | None:
        if part not in self.required:
            raise KeyError(f"unknown frame part {part!r}; expected one of {sorted(self.required)}")
        if stamp_ns <= self.last_stamp_ns:
            self.counters.stale += 1
            self._warn_out_of_order(part)
            return None
        if self.is_ahead(stamp_ns):
            self.counters.ahead += 1
            self._warn(f"ahead:{part}", f"{self._names.get(part, part)}: header.stamp "
                       f"{stamp_ns / 1e9:.2f} s is more than max_stamp_ahead_s="
                       f"{self.max_ahead_ns / 1e9:g} after the last frame "
                       f"({self.last_stamp_ns / 1e9:.2f} s): kept apart, used only if its "
                       f"whole frame arrives ({self.counters.ahead} such parts so far)")
            if self._ahead is None or self._ahead[0] != stamp_ns:
                self._ahead = (stamp_ns, {})
            parts = self._ahead[1]
            parts[part] = payload
            if self.required.issubset(parts):
                self._ahead = None
                self._pending[stamp_ns] = parts
                return self._complete(stamp_ns)
            return None
        parts = self._pending.setdefault(stamp_ns, {})
        if part in parts:
            self.counters.duplicate += 1
            self._warn_out_of_order(part)
        parts[part] = payload
        if len(self._pending) > self.max_pending:
            oldest = min(self._pending)
            del self._pending[oldest]
            self.counters.incomplete += 1
        if self.required.issubset(parts):
            return self._complete(stamp_ns)
        return None

    def _warn_out_of_order(self, part: str) -> None:
        c = self.counters
        self._warn(f"sync:{part}", f"{self._names.get(part, part)}: header.stamp out of order "
                   f"or duplicated; ignored the part (totals: {c.stale} stale, {c.duplicate} "
                   f"duplicate, {c.incomplete} incomplete frames). Check the bridge's clock "
                   "and QoS; a restarted simulator is recognised by /carla/status")

    def simulator_frame(self, frame: int, fixed_delta_seconds: float) -> str:
        """The simulator's frame counter (CarlaStatus.frame); a restart empties the assembler.

        Returns why the simulator restarted (its counter went back), else "". A counter
        that jumps further ahead than ``max_ahead_ns`` of frames raises ValueError and is
        not taken: one stray status must not make every later real one look like a restart.
        """
        last = self.sim_frame
        if last is not None and frame > last and self.max_ahead_ns is not None:
            dt = max(fixed_delta_seconds, 1e-3) if math.isfinite(fixed_delta_seconds) else 1e-3
            limit_s = self.max_ahead_ns / 1e9
            if frame - last > limit_s / dt + 1:
                raise ValueError(f"frame jumped ahead from {last} to {frame}, more than "
                                 f"max_stamp_ahead_s={limit_s:g}")
        self.sim_frame = frame
        if last is not None and frame < last:
            self.reset()
            return f"frame went back from {last} to {frame}"
        return ""

    def is_ahead(self, stamp_ns: int) -> bool:
        """True for a stamp too far after the newest complete frame to take a pending slot."""
        return (self.max_ahead_ns is not None and self.last_stamp_ns >= 0
                and stamp_ns - self.last_stamp_ns > self.max_ahead_ns)

    def _complete(self, stamp_ns: int) -> Frame:
        parts = self._pending.pop(stamp_ns)
        older = [s for s in self._pending if s < stamp_ns]
        for s in older:
            del self._pending[s]
        self.counters.incomplete += len(older)
        self.last_stamp_ns = stamp_ns
        # parts that were stamped far ahead of this frame before there was any frame
        ahead = [s for s in self._pending if self.is_ahead(s)]
        for s in ahead:
            del self._pending[s]
        self.counters.incomplete += len(ahead)
        events, self._events = frozenset(self._events), set()
        return Frame(stamp_ns=stamp_ns, parts=parts, events=events)

    def add_event(self, kind: str) -> None:
        """Latch an event until the next complete frame."""
        self._events.add(kind)

    def reset(self) -> None:
        """Forget pending parts and the last stamp (a restarted simulator restarts time)."""
        self._pending.clear()
        self._events.clear()
        self._ahead = None
        self.last_stamp_ns = -1
