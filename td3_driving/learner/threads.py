"""The learner's torch threads, fitted to the cores the rest of the machine leaves idle.

With ``torch_threads: 0`` the learner does not fix its thread count. A second thread speeds
its update up where a core is idle and slows it down where another process keeps that
core busy: OpenMP threads then wait for each other on a core they share
(docs/benchmarks.md section 2, "The learner's torch threads"). So every ``period_s`` the
fitter measures the CPU every other process used meanwhile (the machine's busy time minus
the learner process's own) and sets as many threads as there are cores less that, rounded,
at least one. One vehicle's simulator and agent leave a second core mostly idle on two cores, so
that learner takes two threads; any busy process next to them sends it back to one. ROS-free:
the machine and process clocks are given.
"""

from __future__ import annotations

import math
import os
from typing import Callable

PERIOD_S = 10.0


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class ThreadFitter:
    """Chooses the learner's torch intra-op threads from what the rest of the machine used.

    ``machine()`` gives the CPU seconds of every process on the machine (None where that is
    unknown: then the count stays at one), ``own()`` those of the learner's process,
    ``set_threads(n)`` applies a count (torch.set_num_threads, from the training thread:
    OpenMP's count belongs to the thread that sets it).
    """

    def __init__(self, cores: int, machine: Callable[[], float | None],
                 own: Callable[[], float], set_threads: Callable[[int], None],
                 now: float, period_s: float = PERIOD_S) -> None:
        if cores < 1 or period_s <= 0:
            raise ValueError(f"ThreadFitter: cores >= 1 and period_s > 0 (got {cores}, "
                             f"{period_s})")
        self.cores, self.period_s = cores, period_s
        self.machine, self.own, self.set_threads = machine, own, set_threads
        self.threads = 1
        self.other_cores: float | None = None   # what the others used in the last period
        self._applied = False
        self._mark(now)

    def _mark(self, now: float) -> None:
        self._t, self._machine, self._own = now, self.machine(), self.own()

    def target(self, other_cores: float) -> int:
        """Threads for a machine whose other processes keep ``other_cores`` busy."""
        return min(self.cores, max(1, math.floor(self.cores - other_cores + 0.5)))

    def poll(self, now: float) -> int | None:
        """Apply the count due now; the new count if it changed, else None."""
        if not self._applied:   # the first call comes from the training thread
            self._applied = True
            self.set_threads(self.threads)
        if now - self._t < self.period_s:
            return None
        t, machine, own = self._t, self._machine, self._own
        self._mark(now)
        if machine is None or self._machine is None:
            return None
        self.other_cores = max(0.0, (self._machine - machine) - (self._own - own)) / (now - t)
        threads = self.target(self.other_cores)
        if threads == self.threads:
            return None
        self.threads = threads
        self.set_threads(threads)
        return threads
