"""Refused peer messages: counted per topic, logged throttled per cause, never raised.

No message from a peer may end a run (docs/reliability.md): a node's callback validates a
message completely before anything changes, and one that fails is refused here. A callback
wrapped by :meth:`Refusals.guard` cannot raise at all; what reaches that last guard had
passed validation, so it is also counted as ``unexpected`` (a validation gap to close).
Plain Python (a throttled logger and a liveness check), so it is tested without a graph.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from td3_driving.ros.log_throttle import ThrottledLogger


class Refusals:
    """What a node refused, per topic; ``ok()`` is False once the node is shutting down."""

    def __init__(self, log: ThrottledLogger, ok: Callable[[], bool]) -> None:
        self.log, self.ok = log, ok
        self.counts: Counter[str] = Counter()       # refused messages per topic
        self.unexpected: Counter[str] = Counter()   # of them, caught only by guard()

    def refuse(self, topic: str, why: str) -> None:
        """Count a refused message of ``topic``; log why, throttled per topic."""
        self.counts[topic] += 1
        self.log.error(f"refused:{topic}", f"{topic}: refused a message ({why}); "
                       f"{self.counts[topic]} refused on this topic so far")

    def refuse_as(self, topic: str, cause: str, text: str) -> None:
        """Count a refused message of ``topic``; log ``text``, throttled per ``cause``."""
        self.counts[topic] += 1
        self.log.error(cause, text)

    def guard(self, topic: str, fn: Callable[..., object]) -> Callable[..., None]:
        """``fn`` as a callback from which no exception escapes: counted, logged, survived."""
        def callback(*args) -> None:
            try:
                fn(*args)
            except Exception as exc:   # noqa: BLE001  (no message may end the run)
                if not self.ok():
                    return   # shutting down: nothing left to publish to
                self.unexpected[topic] += 1
                self.refuse(topic, f"{type(exc).__name__}: {exc}")
        return callback
