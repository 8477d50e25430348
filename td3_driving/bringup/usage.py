"""What a running stack costs: each node process's CPU per agent step, the learner's rate.

The starter (apps/cli.py) samples the CPU time of its node processes (utime + stime from
/proc: CPU, not wall clock, so a shared machine changes the figures little) together with
the learner's counters, and the CPU time of the whole machine (/proc/stat: what the rest
of the machine took from the run, so that "a quiet machine" is a measurement, not a
claim), and writes the report into the run directory when the run ends
(``usage.json``; benchmarks/learning_smoke.py puts it into its records). Plain Python, no
ROS: the counters come from whoever watches the learner.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

USAGE_FILE = "usage.json"


def cpu_ticks(pid: int) -> int:
    """CPU time (utime + stime) of ``pid`` and its descendants, in clock ticks (0 if gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """:func:`cpu_ticks` in seconds."""
    return cpu_ticks(pid) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs together since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]   # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy_seconds() -> float | None:
    """CPU seconds every process of the machine has used since boot, all CPUs together
    (None without /proc/stat).
    """
    try:
        return machine_ticks()[0] / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


@dataclass(frozen=True)
class Sample:
    """One look at the run: when, the learner's counters, each process's CPU seconds."""

    t: float
    steps: int
    updates: int
    cpu: dict[str, float]
    machine: float | None    # CPU seconds of the whole machine, when known


class RunUsage:
    """CPU ms per agent step of each process and the learner's updates/s, over one run.

    ``cpu()`` gives the CPU seconds of each process by label, ``machine()`` those of every
    process on the machine (None: not measured), so that the report can say how much CPU
    the rest of the machine took from the run. Calls of :meth:`sample` closer
    than ``interval_s`` to the previous one are skipped unless ``force``. The steps window
    starts at the first sample in which the learner had received a step (start-up, imports
    and the first track, is no step's cost); the training window at the first sample with
    an update (the warm-up collects data without training).
    """

    def __init__(self, cpu: Callable[[], dict[str, float]], interval_s: float = 1.0,
                 machine: Callable[[], float | None] = machine_busy_seconds) -> None:
        self.cpu, self.interval_s, self.machine = cpu, interval_s, machine
        self.first: Sample | None = None          # first with steps received
        self.first_training: Sample | None = None  # first with updates done
        self.last: Sample | None = None
        self.load_average_start = os.getloadavg()[0]

    def sample(self, steps: int, updates: int, now: float | None = None,
               force: bool = False) -> None:
        now = time.monotonic() if now is None else now
        if steps <= 0 or (not force and self.last is not None
                          and now - self.last.t < self.interval_s):
            return
        s = Sample(now, steps, updates, self.cpu(), self.machine())
        self.first = self.first or s
        if updates > 0 and self.first_training is None:
            self.first_training = s
        self.last = s

    def report(self) -> dict | None:
        """The figures between the first and the last sample; None without two samples
        that saw steps arrive.
        """
        a, b = self.first, self.last
        if a is None or b is None or b.steps <= a.steps or b.t <= a.t:
            return None
        steps, wall = b.steps - a.steps, b.t - a.t
        # a process that exited in between has no second reading: left out, not zero
        labels = [k for k in b.cpu if k in a.cpu]
        cpu = {k: b.cpu[k] - a.cpu[k] for k in labels}
        t = self.first_training
        training = None
        if t is not None and b.t > t.t:
            training = {"window_s": round(b.t - t.t, 1), "updates": b.updates - t.updates,
                        "updates_per_s": round((b.updates - t.updates) / (b.t - t.t), 3)}
        other = None
        if a.machine is not None and b.machine is not None:
            # what else ran: the machine's CPU minus the stack's, never below zero
            other = round(max(0.0, b.machine - a.machine - sum(cpu.values())) / wall, 3)
        return {"window_s": round(wall, 1), "steps": steps, "updates": b.updates - a.updates,
                "steps_per_s": round(steps / wall, 2),
                "cpu_ms_per_step": {k: round(1000 * v / steps, 2) for k, v in cpu.items()},
                "cpu_cores": {k: round(v / wall, 3) for k, v in cpu.items()},
                "stack_cpu_ms_per_step": round(1000 * sum(cpu.values()) / steps, 2),
                "other_processes_cpu_cores": other,
                "learner_training": training,
                "load_average_1min_start": round(self.load_average_start, 2),
                "load_average_1min_end": round(os.getloadavg()[0], 2)}


def describe(report: dict) -> str:
    """One line for the console."""
    cpu = ", ".join(f"{label} {ms:.1f}" for label, ms in report["cpu_ms_per_step"].items())
    line = f"CPU ms per step: {cpu} (over {report['steps']:,} steps)"
    training = report["learner_training"]
    if training is not None:
        line += f"; learner {training['updates_per_s']:.2f} updates/s while training"
    other = report.get("other_processes_cpu_cores")
    if other is not None:
        line += f"; other processes {other:.2f} cores"
    return line + (f"; load average {report['load_average_1min_start']:.1f} -> "
                   f"{report['load_average_1min_end']:.1f}")
