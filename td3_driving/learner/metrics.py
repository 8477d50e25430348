"""What the learner measures and reports, ROS-free: update metrics, rates, episodes."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np


class RateMeter:
    """Events per second over a sliding window of ``window_s`` seconds."""

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, total: int) -> None:
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def rate(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


class MetricsAverager:
    """Means of the core's per-update metrics between two reports.

    Each key is averaged over the updates that reported it: actor metrics come only every
    ``policy_delay`` updates.
    """

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def add(self, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self._sums[k] = self._sums.get(k, 0.0) + v
            self._counts[k] = self._counts.get(k, 0) + 1

    def pop(self) -> dict[str, float]:
        """The means since the last pop ({} if no update happened)."""
        out = {k: v / self._counts[k] for k, v in self._sums.items()}
        self._sums, self._counts = {}, {}
        return out


def tensorboard_tag(metric: str) -> str:
    """The TensorBoard tag of a core metric: losses/ and grads/ as cleanrl, else charts/."""
    group, _, name = metric.partition("/")
    if group == "losses":
        return metric
    if group == "grad":
        return f"grads/{name}"
    return f"charts/{metric}"


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN: a missing mean is null."""
    return value if math.isfinite(value) else None


class EpisodeLog:
    """Recent episode returns of all agents, for the status line and results.json."""

    def __init__(self, keep: int = 100) -> None:
        self.count = 0
        self.returns: deque[float] = deque(maxlen=keep)
        self.native_scores: deque[float] = deque(maxlen=keep)

    def add(self, episode_return: float, native_score: float) -> None:
        self.count += 1
        if math.isfinite(episode_return):
            self.returns.append(float(episode_return))
        if math.isfinite(native_score):
            self.native_scores.append(float(native_score))

    @staticmethod
    def _mean_last(values: deque[float], n: int) -> float:
        last = list(values)[-n:]
        return sum(last) / len(last) if last else math.nan

    def mean_return(self, n: int = 10) -> float:
        return self._mean_last(self.returns, n)

    def mean_native_score(self, n: int = 10) -> float:
        return self._mean_last(self.native_scores, n)

    def state(self) -> dict[str, Any]:
        return {"count": self.count, "returns": list(self.returns),
                "native_scores": list(self.native_scores)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.count = int(state["count"])
        self.returns.extend(state["returns"])
        self.native_scores.extend(state["native_scores"])


class PolicyLag:
    """How many weights versions behind the learner's newest the received steps were acted.

    Each step carries the weights version its agent acted with; at reception the lag is the
    learner's newest published version minus that (0 when the agent acts with the newest,
    also during the warm-up before any publication). Over the newest ``window`` steps:
    median and 95th percentile, so that a host acting with old weights (a slow link, lost
    weights messages) shows. A step acted with a version newer than this learner published
    (agents of a learner that restarted without resuming) counts as lag 0.
    """

    def __init__(self, window: int = 1024) -> None:
        self._lags: deque[int] = deque(maxlen=window)

    def add(self, newest_version: int, policy_versions: np.ndarray) -> None:
        lags = np.maximum(0, newest_version - policy_versions.astype(np.int64))
        self._lags.extend(lags.tolist())

    def percentiles(self) -> tuple[float, float]:
        """(median, p95) of the window; NaN before any step arrived."""
        if not self._lags:
            return math.nan, math.nan
        median, p95 = np.percentile(np.fromiter(self._lags, np.int64), [50, 95])
        return float(median), float(p95)
