"""Per-key log throttling for nodes: one line per key and period, never one per message.

Keyed (e.g. by agent and error kind) rather than per call site, so that a second kind of
problem is not hidden behind the first one's throttle.
"""

from __future__ import annotations

import math
import re
from typing import Any


class KeyedThrottle:
    """Let one message per key through each ``period_s``; count the ones held back."""

    def __init__(self, period_s: float, max_keys: int = 1024) -> None:
        self.period_s, self.max_keys = period_s, max_keys
        self._last: dict[Any, float] = {}
        self._held: dict[Any, int] = {}

    def allow(self, key: Any, now: float) -> int | None:
        """None to stay quiet, else how many messages of this key were held back since."""
        if now - self._last.get(key, -math.inf) < self.period_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        if len(self._last) >= self.max_keys:
            self._forget_quiet(now)
        self._last[key] = now
        return self._held.pop(key, 0)

    def _forget_quiet(self, now: float) -> None:
        # keys come from peers (agent ids): a flood of new ones must not grow memory
        for key in [k for k, t in self._last.items() if now - t >= self.period_s]:
            del self._last[key]
            self._held.pop(key, None)


def error_kind(message: str) -> str:
    """An error message with its numbers blanked: the same problem gives the same kind."""
    return re.sub(r"\d+", "#", message)
