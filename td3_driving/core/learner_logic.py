"""The learner's bookkeeping, ROS-free: update-to-data limiter, schedules, run directory.

The learner node is a thin adapter around these pieces; each is unit-tested without a graph.

Update-to-data (UTD) with backpressure (docs/architecture.md: one agent produces data ~7x
faster than a pixel learner updates). With S steps received, U updates done, ``learning_starts``
L and ratio r, counted from an origin (S0, U0) where the current warm-up began:

    updates due    = floor((S - S0 - L) * r) - (U - U0)
    steps allowed  = S0 + L + floor((U - U0) / r) + slack

Agents stop sending while the total would pass ``steps allowed``, so data never runs more
than ``slack`` steps ahead of the updates and the ratio converges to r.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from td3_driving.core.config_base import param

UNLIMITED = 2**64 - 1  # steps_allowed when no ratio is enforced (uint64 max on the wire)


@dataclass(frozen=True)
class LearnerNodeConfig:
    """The learner node's own parameters (the TD3 core's are in LearnerConfig).

    Declared at the node's root next to LearnerConfig's (``run_dir``, ``td3.gamma``...).
    Periods are wall-clock seconds: a simulator paused by backpressure stops /clock, so sim
    time would stall the learner that is meant to catch up.
    """

    run_dir: str = param("runs/latest", "Run directory: checkpoints/, policy.safetensors, "
                                        "tb/ (TensorBoard), results.json.")
    resume: bool = param(False, "Continue from run_dir's latest checkpoint (update counter, "
                                "weights version, replay buffer if saved). False refuses a "
                                "run_dir that already holds checkpoints.")
    backpressure_slack_steps: int = param(
        64, "Steps agents may send beyond what the done updates justify at "
            "td3.update_to_data; covers batches in flight (about one batch per agent). "
            "The measured ratio lags by about this many steps: within 10 % once ten times "
            "as many steps arrived after the warm-up. Larger hides learner latency.", low=0)
    train_slice_s: float = param(0.5, "Longest stretch of updates in one training callback "
                                      "(seconds); keeps shutdown and checkpoints prompt.",
                                 low=0.01, high=60.0)
    weights_period_s: float = param(1.0, "Minimum seconds between two weights publications "
                                         "(weights are only sent when the actor changed).",
                                    low=1.0, high=3600.0)
    status_period_s: float = param(0.2, "Period of LearnerStatus (backpressure) messages.",
                                   low=0.01, high=10.0)
    diagnostics_period_s: float = param(1.0, "Period of /diagnostics and TensorBoard "
                                             "scalars (means over the updates in between).",
                                        low=0.1, high=600.0)
    checkpoint_period_updates: int = param(5000, "Checkpoint every this many updates "
                                                 "(0: not by count).", low=0)
    checkpoint_period_s: float = param(600.0, "Checkpoint every this many seconds of wall "
                                              "time (0: not by time).", low=0.0)
    keep_checkpoints: int = param(3, "Newest checkpoints kept in run_dir/checkpoints.", low=1,
                                  high=1000)
    save_buffer_in_checkpoint: bool = param(
        False, "Save the replay buffer next to each checkpoint (~7 KB per step of "
               "replay.capacity at 84x84, written each time) for an exact resume; without "
               "it a resume warms up again for td3.learning_starts steps.")
    tensorboard: bool = param(True, "Write TensorBoard logs to run_dir/tb.")


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


class KeyedThrottle:
    """Let one message per key through each ``period_s``; count the ones held back.

    Keyed (e.g. by agent and error kind) rather than per call site, so that a second kind
    of problem is not hidden behind the first one's throttle.
    """

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._last: dict[Any, float] = {}
        self._held: dict[Any, int] = {}

    def allow(self, key: Any, now: float) -> int | None:
        """None to stay quiet, else how many messages of this key were held back since."""
        if now - self._last.get(key, -math.inf) < self.period_s:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        self._last[key] = now
        return self._held.pop(key, 0)


def error_kind(message: str) -> str:
    """An error message with its numbers blanked: the same problem gives the same kind."""
    return re.sub(r"\d+", "#", message)


def tensorboard_tag(metric: str) -> str:
    """The TensorBoard tag of a core metric: losses/ and grads/ as cleanrl, else charts/."""
    group, _, name = metric.partition("/")
    if group == "losses":
        return metric
    if group == "grad":
        return f"grads/{name}"
    return f"charts/{metric}"


_CKPT = re.compile(r"^ckpt_(\d{12})\.pt$")


class RunDir:
    """A training run's files: checkpoints/, policy.safetensors, tb/, results.json."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.policy = self.root / "policy.safetensors"
        self.tensorboard = self.root / "tb"
        self.results = self.root / "results.json"

    def create(self) -> None:
        self.checkpoints.mkdir(parents=True, exist_ok=True)

    def checkpoint_path(self, updates: int) -> Path:
        # zero-padded so that names sort like the update counter
        return self.checkpoints / f"ckpt_{updates:012d}.pt"

    def list_checkpoints(self) -> list[Path]:
        """Complete checkpoints, oldest first (writes are atomic: a name means complete)."""
        if not self.checkpoints.is_dir():
            return []
        return sorted(p for p in self.checkpoints.iterdir() if _CKPT.match(p.name))

    def latest_checkpoint(self) -> Path | None:
        found = self.list_checkpoints()
        return found[-1] if found else None

    @staticmethod
    def replay_path(checkpoint: Path) -> Path:
        """Where core.checkpoint saves the replay buffer of ``checkpoint``."""
        return checkpoint.with_name(checkpoint.name + ".replay.npz")

    def prune(self, keep: int) -> list[Path]:
        """Delete all but the newest ``keep`` checkpoints (and their replay files)."""
        removed = self.list_checkpoints()[:-keep] if keep > 0 else []
        for path in removed:
            path.unlink(missing_ok=True)
            self.replay_path(path).unlink(missing_ok=True)
        return removed

    def write_results(self, results: dict[str, Any]) -> None:
        """results.json, atomically (a reader never sees half a file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.results.with_name(f".results.json.tmp{os.getpid()}")
        tmp.write_text(json.dumps(results, indent=2, sort_keys=True, default=_json_default)
                       + "\n")
        os.replace(tmp, self.results)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):   # numpy / torch scalars
        return value.item()
    raise TypeError(f"results.json: {type(value).__name__} is not JSON-serialisable")


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
