"""When the simulator ticks: carla-ros-bridge's synchronous mode as a state machine (ROS-free).

The bridge's parameters keep their meaning (docs/carla_bridge.md):

- ``wait_for_command`` false (``synchronous_mode_wait_for_vehicle_control_command`` false,
  the bridge's default): the simulator ticks on its own clock from start-up; commands only
  change the control that the next tick applies.
- ``wait_for_command`` true: after publishing a frame the simulator waits for exactly one
  command answering it, then ticks; on timeout it ticks with the previous control.

One frame in flight, always: a command says which frame it answers by carrying that frame's
stamp in ``header.stamp``. A command stamped for an older frame (it arrived after the
timeout already moved on) is stale: it neither ticks nor changes the control, so every
command is applied to the frame it answered. A command stamped for a frame not yet
published is refused. An unstamped command (stamp 0) cannot be checked and answers the
current frame, as with the real bridge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    """What to do with one command."""

    TICK = "tick"            # apply its control and tick now
    APPLY = "apply"          # apply its control; the next tick comes from elsewhere
    STALE = "stale"          # answers an older frame: ignore it
    FUTURE = "future"        # answers a frame not yet published: refuse it


@dataclass
class LockstepCounters:
    """Why ticks happened and which commands were not taken (all monotonic)."""

    ticks_by_command: int = 0
    ticks_by_timeout: int = 0
    ticks_by_clock: int = 0
    ticks_by_step_once: int = 0
    stale_commands: int = 0
    future_commands: int = 0
    extra_commands: int = 0  # a second command for a frame already answered


@dataclass
class Lockstep:
    """Tick decisions; the caller runs the tick and calls :meth:`published` after it."""

    wait_for_command: bool
    paused: bool = False
    counters: LockstepCounters = field(default_factory=LockstepCounters)
    frame_stamp_ns: int = -1     # stamp of the last published frame; -1 before the first
    _answered: bool = True       # the current frame's command (or timeout) came
    _pending: bool = False       # a command came while paused: tick on PLAY

    @property
    def awaiting(self) -> bool:
        """True while the current frame waits for its command (lockstep only)."""
        return self.wait_for_command and not self._answered

    def published(self, stamp_ns: int) -> None:
        """A frame with this stamp went out: from now on commands answer it."""
        self.frame_stamp_ns = stamp_ns
        self._answered = False
        self._pending = False

    def on_command(self, stamp_ns: int) -> Verdict:
        """Classify a (validated) command by the frame stamp it carries."""
        if stamp_ns and stamp_ns > self.frame_stamp_ns:
            self.counters.future_commands += 1
            return Verdict.FUTURE
        if stamp_ns and stamp_ns < self.frame_stamp_ns:
            self.counters.stale_commands += 1
            return Verdict.STALE
        if not self.wait_for_command or self.frame_stamp_ns < 0:
            return Verdict.APPLY
        if self._answered:
            self.counters.extra_commands += 1
            return Verdict.APPLY
        self._answered = True
        if self.paused:
            self._pending = True
            return Verdict.APPLY
        self.counters.ticks_by_command += 1
        return Verdict.TICK

    def on_timeout(self) -> bool:
        """The wait for the current frame's command ran out: tick with the previous control."""
        if not self.awaiting or self.paused:
            return False
        self._answered = True
        self.counters.ticks_by_timeout += 1
        return True

    def on_clock(self) -> bool:
        """A tick of the simulator's own clock (no wait for commands)."""
        if self.wait_for_command or self.paused:
            return False
        self.counters.ticks_by_clock += 1
        return True

    def pause(self) -> None:
        self.paused = True

    def play(self) -> bool:
        """Resume; True if a command answered the current frame while paused (tick now)."""
        self.paused = False
        if self._pending:
            self._pending = False
            self.counters.ticks_by_command += 1
            return True
        return False

    def step_once(self) -> bool:
        """While paused, one tick; ignored while playing (as the bridge does)."""
        if not self.paused or self.frame_stamp_ns < 0:
            return False
        self._answered = True
        self._pending = False
        self.counters.ticks_by_step_once += 1
        return True
