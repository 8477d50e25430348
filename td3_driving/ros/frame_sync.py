"""Assemble one simulator frame from the bridge's per-topic messages, by header stamp.

carla-ros-bridge publishes each tick's camera image, odometry and vehicle status with the
same sim-time stamp, on separate topics, in no guaranteed order. A frame is complete when
every required part with one stamp has arrived. Event topics (collision, lane invasion)
may arrive a frame late, so they are latched and handed out with the next complete frame.
Plain Python (no rclpy), so the logic is unit-tested without a graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Frame:
    """All parts of one tick, plus the events latched since the previous frame."""

    stamp_ns: int
    parts: dict
    events: dict = field(default_factory=dict)


@dataclass
class SyncCounters:
    """What the assembler had to throw away, so that nothing is dropped silently."""

    stale: int = 0        # parts older than (or equal to) the last complete frame
    duplicate: int = 0    # the same part twice for one pending stamp
    incomplete: int = 0   # pending stamps abandoned because newer frames completed


class FrameAssembler:
    """Collects parts per stamp; ``add`` returns the Frame that a part completes."""

    def __init__(self, required: tuple[str, ...], max_pending: int = 16):
        self.required = frozenset(required)
        self.max_pending = max_pending
        self.counters = SyncCounters()
        self._pending: dict[int, dict] = {}
        self._events: dict[str, list] = {}
        self.last_stamp_ns = -1

    def add(self, part: str, stamp_ns: int, payload) -> Frame | None:
        if part not in self.required:
            raise KeyError(f"unknown frame part {part!r}; expected one of {sorted(self.required)}")
        if stamp_ns <= self.last_stamp_ns:
            self.counters.stale += 1
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

    def _complete(self, stamp_ns: int) -> Frame:
        parts = self._pending.pop(stamp_ns)
        older = [s for s in self._pending if s < stamp_ns]
        for s in older:
            del self._pending[s]
        self.counters.incomplete += len(older)
        self.last_stamp_ns = stamp_ns
        events, self._events = self._events, {}
        return Frame(stamp_ns=stamp_ns, parts=parts, events=events)

    def add_event(self, kind: str, payload) -> None:
        """Latch an event until the next complete frame."""
        self._events.setdefault(kind, []).append(payload)

    def reset(self) -> None:
        """Forget pending parts and the last stamp (a restarted simulator restarts time)."""
        self._pending.clear()
        self._events.clear()
        self.last_stamp_ns = -1
