"""Progress as one line: what `make train` and `make drive` print every few seconds."""

from __future__ import annotations

import collections
import math
import time

from td3_driving.bringup import stack
from td3_driving.msg import EpisodeStats, LearnerStatus
from td3_driving.ros import qos
from td3_driving.ros.listener import Listener

# the ETA's pace: steps over this many seconds of learner statuses
PACE_WINDOW_S = 300.0
REASONS = {EpisodeStats.REASON_OFF_ROAD: "off road", EpisodeStats.REASON_COLLISION: "collision",
           EpisodeStats.REASON_ROUTE_COMPLETE: "lap complete",
           EpisodeStats.REASON_TIME_LIMIT: "time limit", EpisodeStats.REASON_STALLED: "stalled",
           EpisodeStats.REASON_SIM_RESET: "simulator reset",
           EpisodeStats.REASON_SHUTDOWN: "stopped"}


def clock(seconds: float) -> str:
    """``H:MM:SS`` of a duration."""
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def fraction_done(elapsed: float, steps: int, max_steps: float | None,
                  duration: float | None) -> float | None:
    """How much of the run is done (0..1): the budget that ends it first; None if none."""
    parts = []
    if max_steps:
        parts.append(steps / max_steps)
    if duration:
        parts.append(elapsed / duration)
    return min(max(parts), 1.0) if parts else None


def time_left(elapsed: float, steps: int, max_steps: float | None, duration: float | None,
              pace: float | None = None) -> float | None:
    """Seconds until the budget that ends the run first is spent; None if unknown.

    The step budget goes at ``pace`` (steps per second, recently: a resumed run's earlier
    sittings and the quick random warm-up would make an average since the start wrong).
    """
    left = []
    if max_steps and pace:
        left.append(max(max_steps - steps, 0) / pace)
    if duration:
        left.append(max(duration - elapsed, 0.0))
    return min(left) if left else None


def eta(done: float | None, left: float | None) -> str:
    """``P% ETA H:MM:SS`` ('-' while the time left is unknown; '' without a budget)."""
    if done is None:
        return ""
    return f"{100 * done:.0f}% ETA {'-' if left is None else clock(left)}"


def describe_episode(msg: EpisodeStats) -> str:
    """What a driver wants from one finished episode: score, lap time, route completion."""
    lap = (f"lap time {msg.sim_time:.1f} s" if msg.termination_reason
           == EpisodeStats.REASON_ROUTE_COMPLETE else "no lap")
    score = msg.native_score if math.isfinite(msg.native_score) else msg.episode_return
    parts = [f"episode {msg.episode_id}",
             f"score {score:.1f}" if math.isfinite(score) else "score -",
             lap, f"route {100 * msg.route_completion:.0f}%",
             REASONS.get(msg.termination_reason, "ended"), f"{msg.length} steps"]
    return " | ".join(parts)


class ProgressMonitor(Listener):
    """Listens to the learner's status and the episode statistics in a thread.

    ``learner`` False (a drive) leaves the learner out of the line and collects one line
    per finished episode instead: from the embedded simulator's episode score of
    ``drive_role`` (CarRacing's native score), or from the agent's statistics where no
    simulator of ours runs. ``max_steps`` and ``duration`` give the percentage and ETA.
    """

    def __init__(self, window: int = 10, learner: bool = True,
                 max_steps: int | None = None, duration: float | None = None,
                 drive_role: str | None = None) -> None:
        super().__init__("train_progress")   # a private context: no signal handlers
        self.learner = learner
        self.max_steps, self.duration = max_steps, duration
        self.status: LearnerStatus | None = None
        # (arrival, steps_received) of the learner's statuses over the last PACE_WINDOW_S
        self.samples: collections.deque = collections.deque()
        self.episodes = 0
        self.returns = collections.deque(maxlen=window)
        self.completion = collections.deque(maxlen=window)
        self.finished: list[str] = []          # drive: one line per episode, not yet printed
        self._unscored: collections.deque = collections.deque()   # (arrival, agent's stats)
        self._lock = self.lock
        self.node.create_subscription(EpisodeStats, stack.EPISODE_STATS_TOPIC,
                                      self._on_episode, qos.STATS)
        if learner:
            self.node.create_subscription(LearnerStatus, stack.LEARNER_STATUS_TOPIC,
                                          self._on_status, qos.STATS)
        elif drive_role:
            self.node.create_subscription(EpisodeStats, f"/sim/{drive_role}/episode_score",
                                          self._on_score, qos.STATS)
        self._drive, self._scored = not learner, bool(drive_role)
        self.started = time.monotonic()

    def _on_status(self, msg: LearnerStatus) -> None:
        with self._lock:
            self.status = msg
            now = time.monotonic()
            self.samples.append((now, int(msg.steps_received)))
            while len(self.samples) > 2 and now - self.samples[1][0] >= PACE_WINDOW_S:
                self.samples.popleft()

    def pace(self) -> float | None:
        """Steps per second over the last PACE_WINDOW_S of statuses (None before two)."""
        with self._lock:
            if len(self.samples) < 2:
                return None
            (t0, s0), (t1, s1) = self.samples[0], self.samples[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None

    def _on_score(self, msg: EpisodeStats) -> None:
        # the simulator ends its episode right after the agent (which knows why it ended)
        with self._lock:
            if self._unscored:
                _, episode = self._unscored.popleft()
                episode.native_score = msg.native_score
                self.finished.append(describe_episode(episode))

    def _on_episode(self, msg: EpisodeStats) -> None:
        with self._lock:
            self.episodes += 1
            self.returns.append(msg.episode_return)
            self.completion.append(msg.route_completion)
            if self._drive and msg.termination_reason != EpisodeStats.REASON_SHUTDOWN:
                self._unscored.append((time.monotonic(), msg))

    def steps_received(self) -> int:
        """Agent steps the learner has accepted so far (0 before its first status)."""
        with self._lock:
            return 0 if self.status is None else int(self.status.steps_received)

    def updates(self) -> int:
        """TD3 updates the learner has done so far (0 before its first status)."""
        with self._lock:
            return 0 if self.status is None else int(self.status.learner_step)

    def stop_reason(self) -> str:
        """Why the learner stopped training for good (LearnerStatus.stop_reason), or ""."""
        with self._lock:
            return "" if self.status is None else self.status.stop_reason

    def take_episodes(self, wait_for_score_s: float = 2.0) -> list[str]:
        """Drive lines of the episodes finished since the last call (an episode whose
        simulator score has not come within ``wait_for_score_s`` goes without one).
        """
        with self._lock:
            limit = time.monotonic() - (wait_for_score_s if self._scored else 0.0)
            while self._unscored and self._unscored[0][0] <= limit:
                self.finished.append(describe_episode(self._unscored.popleft()[1]))
            lines, self.finished = self.finished, []
        return lines

    def line(self) -> str:
        with self._lock:
            s, returns = self.status, list(self.returns)
            episodes, completion = self.episodes, list(self.completion)
        elapsed = time.monotonic() - self.started
        mean = f"{sum(returns) / len(returns):.2f}" if returns else "-"
        route = f"{100 * sum(completion) / len(completion):.0f}%" if completion else "-"
        parts = [clock(elapsed)]
        steps = 0 if s is None else int(s.steps_received)
        done = fraction_done(elapsed, steps, self.max_steps, self.duration)
        if done is not None:
            parts.append(eta(done, time_left(elapsed, steps, self.max_steps, self.duration,
                                             self.pace())))
        parts += [f"episodes {episodes}", f"mean return (last {len(returns)}) {mean}",
                  f"route {route}"]
        if not self.learner:
            return " | ".join(parts)
        if s is None:
            parts.append("learner: no status yet")
        else:
            ups = s.updates_per_second if math.isfinite(s.updates_per_second) else 0.0
            parts += [f"env steps {s.steps_received:,}", f"updates {s.learner_step:,} "
                      f"({ups:.2f}/s)", f"weights v{s.weights_version}",
                      f"buffer {s.buffer_size:,}", f"UTD {s.update_to_data:.3f}",
                      "training" if s.training else "warming up"]
        return " | ".join(parts)

