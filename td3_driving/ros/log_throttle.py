"""Log throttling per cause, for nodes whose inputs can go wrong in many ways at once.

rclpy's ``throttle_duration_sec`` throttles per call site: a node that reports several
causes from one site (each agent, each topic, each kind of error) would show the first one
and hide the rest. Here each key has its own period, and the next message of a key says how
many of its messages were held back meanwhile. Plain Python (any logger with ``warning``
and ``error`` will do), so the logic is tested without a graph.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Callable, Hashable, Protocol


class KeyedThrottle:
    """Let one message per key through each ``period_s``; count the ones held back."""

    def __init__(self, period_s: float, max_keys: int = 1024) -> None:
        self.period_s, self.max_keys = period_s, max_keys
        self._last: dict[Hashable, float] = {}
        self._held: dict[Hashable, int] = {}

    def allow(self, key: Hashable, now: float) -> int | None:
        """None to stay quiet, else how many messages of this key were held back since."""
        if now - self._last.get(key, -math.inf) < self.period_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        if len(self._last) >= self.max_keys:
            self._forget_quiet(now)
        self._last[key] = now
        return self._held.pop(key, 0)

    def _forget_quiet(self, now: float) -> None:
        # keys can come from peers (agent ids): a flood of new ones must not grow memory
        for key in [k for k, t in self._last.items() if now - t >= self.period_s]:
            del self._last[key]
            self._held.pop(key, None)


def error_kind(message: str) -> str:
    """An error message with its numbers blanked: the same problem gives the same key."""
    return re.sub(r"\d+", "#", message)


class _Logger(Protocol):
    def info(self, message: str, **kwargs: Any) -> Any: ...

    def warning(self, message: str, **kwargs: Any) -> Any: ...

    def error(self, message: str, **kwargs: Any) -> Any: ...


class ThrottledLogger:
    """``warning(key, text)`` / ``error(key, text)`` through a :class:`KeyedThrottle`."""

    def __init__(self, logger: _Logger, period_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.throttle = KeyedThrottle(period_s)
        self.clock = clock

    def _text(self, key: Hashable, text: str) -> str | None:
        held = self.throttle.allow(key, self.clock())
        if held is None:
            return None
        return text + (f" [{held} similar message(s) held back]" if held else "")

    # rclpy fixes one severity per call site: one call per severity
    def warning(self, key: Hashable, text: str) -> bool:
        """Log ``text`` as a warning unless ``key`` logged within the period; True if logged."""
        out = self._text(key, text)
        if out is not None:
            self.logger.warning(out)
        return out is not None

    def error(self, key: Hashable, text: str) -> bool:
        """Log ``text`` as an error unless ``key`` logged within the period; True if logged."""
        out = self._text(key, text)
        if out is not None:
            self.logger.error(out)
        return out is not None

    def log(self, level: str, key: Hashable, text: str) -> None:
        """``level`` info (never throttled), warning or error (throttled per ``key``)."""
        if level == "error":
            self.error(key, text)
        elif level == "warning":
            self.warning(key, text)
        else:
            self.logger.info(text)
