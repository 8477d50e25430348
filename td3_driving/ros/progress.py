"""Training progress as one line: what `make train` prints every few seconds."""

from __future__ import annotations

import collections
import math
import threading
import time

import rclpy
from rclpy.executors import SingleThreadedExecutor

from td3_driving.bringup import stack
from td3_driving.msg import EpisodeStats, LearnerStatus
from td3_driving.ros import qos


class ProgressMonitor:
    """Listens to the learner's status and the agents' episode statistics in a thread."""

    def __init__(self, window: int = 10) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("train_progress", context=self.context)
        self.status: LearnerStatus | None = None
        self.episodes = 0
        self.returns = collections.deque(maxlen=window)
        self.completion = collections.deque(maxlen=window)
        self.env_steps = 0
        self._lock = threading.Lock()
        self.node.create_subscription(LearnerStatus, stack.LEARNER_STATUS_TOPIC,
                                      self._on_status, qos.STATS)
        self.node.create_subscription(EpisodeStats, stack.EPISODE_STATS_TOPIC,
                                      self._on_episode, qos.STATS)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        self.started = time.monotonic()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # the context was shut down under us: nothing more to report
            pass

    def _on_status(self, msg: LearnerStatus) -> None:
        with self._lock:
            self.status = msg

    def _on_episode(self, msg: EpisodeStats) -> None:
        with self._lock:
            self.episodes += 1
            self.env_steps += int(msg.length)
            self.returns.append(msg.episode_return)
            self.completion.append(msg.route_completion)

    def steps_received(self) -> int:
        """Agent steps the learner has accepted so far (0 before its first status)."""
        with self._lock:
            return 0 if self.status is None else int(self.status.steps_received)

    def line(self) -> str:
        with self._lock:
            s, returns = self.status, list(self.returns)
            episodes, completion = self.episodes, list(self.completion)
        elapsed = time.strftime("%H:%M:%S", time.gmtime(time.monotonic() - self.started))
        mean = f"{sum(returns) / len(returns):.2f}" if returns else "-"
        route = f"{100 * sum(completion) / len(completion):.0f}%" if completion else "-"
        parts = [elapsed, f"episodes {episodes}", f"mean return (last {len(returns)}) {mean}",
                 f"route {route}"]
        if s is None:
            parts.append("learner: no status yet")
        else:
            ups = s.updates_per_second if math.isfinite(s.updates_per_second) else 0.0
            parts += [f"env steps {s.steps_received:,}", f"updates {s.learner_step:,} "
                      f"({ups:.2f}/s)", f"weights v{s.weights_version}",
                      f"buffer {s.buffer_size:,}", f"UTD {s.update_to_data:.3f}",
                      "training" if s.training else "warming up"]
        return " | ".join(parts)

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._thread.join(2.0)
