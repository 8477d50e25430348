"""Assemble one simulator frame from the bridge's per-topic messages, by header stamp.

carla-ros-bridge publishes each tick's camera image, odometry and vehicle status with the
same sim-time stamp, on separate topics, in no guaranteed order. A frame is complete when
every required part with one stamp has arrived. Event topics (collision, lane invasion)
may arrive a frame late, so they are latched (as flags) and handed out with the next
complete frame. Plain Python (no rclpy), so the logic is unit-tested without a graph.

Stamps that one stray message could use to stall the agent are kept apart:
- a part stamped at or before the newest complete frame is stale: ignored and counted (a
  simulator restart is not guessed from stamps; the agent node learns it from the
  simulator itself, docs/reliability.md);
- a part stamped more than ``max_ahead_ns`` after the newest complete frame takes no
  pending slot: it waits in a single slot of its own (a newer such stamp replaces it) and
  completes only if every part of that frame arrives, as a simulator that really jumped
  ahead sends them. Counted as ``ahead``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """Collects parts per stamp; ``add`` returns the Frame that a part completes."""

    def __init__(self, required: tuple[str, ...], max_pending: int = 16,
                 max_ahead_ns: int | None = None):
        self.required = frozenset(required)
        self.max_pending = max_pending
        self.max_ahead_ns = max_ahead_ns
        self.counters = SyncCounters()
        self._pending: dict[int, dict] = {}
        self._ahead: tuple[int, dict] | None = None
        self._events: set[str] = set()
        self.last_stamp_ns = -1

    def add(self, part: str, stamp_ns: int, payload) -> Frame | None:
        if part not in self.required:
            raise KeyError(f"unknown frame part {part!r}; expected one of {sorted(self.required)}")
        if stamp_ns <= self.last_stamp_ns:
            self.counters.stale += 1
            return None
        if self.is_ahead(stamp_ns):
            self.counters.ahead += 1
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
        parts[part] = payload
        if len(self._pending) > self.max_pending:
            oldest = min(self._pending)
            del self._pending[oldest]
            self.counters.incomplete += 1
        if self.required.issubset(parts):
            return self._complete(stamp_ns)
        return None

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
