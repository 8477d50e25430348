"""Start a stack from td3_driving.bringup.stack as plain processes, where `ros2 launch` is missing.

Same nodes, same parameters as launch/*.launch.py (both read td3_driving.bringup.stack). Each node
runs as its installed executable (lib/td3_driving/<name>) with `--ros-args`; output lines
are prefixed with the node's name; Ctrl-C stops the nodes in order (agents and simulators
first, the learner last so that it writes its final checkpoint and policy artifact).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from td3_driving.bringup import stack
from td3_driving.bringup.usage import cpu_seconds


def executable_path(name: str) -> str:
    """lib/td3_driving/<name> of the installed package (where `ros2 run` looks)."""
    try:
        from ament_index_python.packages import get_package_prefix
        prefix = Path(get_package_prefix(stack.PACKAGE))
    except Exception as exc:
        raise RuntimeError(f"package {stack.PACKAGE} is not installed ({exc}); run "
                           f"`make setup` and use ./env.sh") from None
    path = prefix / "lib" / stack.PACKAGE / name
    if not path.exists():
        raise RuntimeError(f"executable {path} not found; rebuild with `make setup`")
    return str(path)


def _param_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def command(spec: stack.NodeSpec, log_level: str) -> list[str]:
    """The command line that starts ``spec`` exactly as launch_ros would configure it."""
    cmd = [executable_path(spec.executable), "--ros-args", "-r", f"__node:={spec.name}"]
    if spec.namespace:
        cmd += ["-r", f"__ns:=/{spec.namespace.strip('/')}"]
    for f in spec.params_files:
        cmd += ["--params-file", f]
    for key, value in spec.parameters:
        cmd += ["-p", f"{key}:={_param_value(value)}"]
    for src, dst in spec.remappings:
        cmd += ["-r", f"{src}:={dst}"]
    return cmd + ["--log-level", log_level]


def stack_environment() -> dict[str, str]:
    """The environment every node of a stack gets: the shipped Fast DDS profile, localhost."""
    env = dict(os.environ)
    profile = Path(stack.config_file("fastdds_profile.xml"))
    if profile.exists():
        env.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(profile))
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(stack.thread_environment())
    return env


# rcutils' console format starts with the severity: these lines are routine
ROUTINE_LOG = ("[INFO]", "[DEBUG]")
# a node's last output lines, kept even when quiet: why it exited, when it exits
TAIL_LINES = 6


class Process:
    """One running node; its output is copied to ours line by line with a prefix.

    Each node runs in its own session, so that a Ctrl-C in the terminal reaches only the
    starter, which then stops the nodes in order. A node whose starter dies without
    stopping it stops by itself (td3_driving.ros.spin.watch_parent).
    """

    def __init__(self, label: str, cmd: list[str], env: dict[str, str], quiet: bool = False,
                 errors_only: threading.Event | None = None, nice: int = 0):
        self.label = label
        # once set (while stopping), only warnings and errors are copied
        self.errors_only = errors_only or threading.Event()
        self.last_lines: deque[str] = deque(maxlen=TAIL_LINES)
        self.popen = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, bufsize=1,
                                      start_new_session=True,
                                      preexec_fn=(lambda: os.nice(nice)) if nice else None)
        self._thread = threading.Thread(target=self._pump, args=(quiet,), daemon=True)
        self._thread.start()

    def _pump(self, quiet: bool) -> None:
        for line in self.popen.stdout:
            self.last_lines.append(line.rstrip())
            if quiet or (self.errors_only.is_set() and line.startswith(ROUTINE_LOG)):
                continue
            sys.stdout.write(f"[{self.label}] {line}")
        self.popen.stdout.close()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def exit_report(self) -> str:
        """'label (code N)', with the node's last output lines: why a node ended."""
        self._thread.join(timeout=2.0)   # the pipe's last lines, once the process is gone
        tail = " | ".join(line for line in self.last_lines if line)
        return f"{self.label} (code {self.popen.returncode})" + (
            f", its last output: {tail}" if tail else "")

    def signal(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float, hurry: threading.Event | None = None) -> int | None:
        """SIGINT (what Ctrl-C sends), then SIGTERM, then SIGKILL; returns the exit code."""
        return stop_together([self], timeout, hurry)[self.label]


def _wait_all(procs: list[Process], timeout: float, hurry: threading.Event | None) -> None:
    deadline = time.monotonic() + timeout
    while any(p.alive() for p in procs) and time.monotonic() < deadline:
        if hurry is not None and hurry.is_set():
            return
        time.sleep(0.05)


def stop_together(procs: list[Process], timeout: float,
                  hurry: threading.Event | None = None) -> dict[str, int | None]:
    """Stop ``procs`` at once: SIGINT, up to ``timeout`` s (less once ``hurry`` is set),
    then SIGTERM and SIGKILL, ESCALATE_S each; returns their exit codes.
    """
    for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, ESCALATE_S),
                      (signal.SIGKILL, ESCALATE_S)):
        for p in procs:
            p.signal(sig)
        _wait_all(procs, wait, hurry if sig == signal.SIGINT else None)
    codes = {}
    for p in procs:
        try:
            p.popen.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
        p._thread.join(2.0)
        codes[p.label] = p.popen.returncode
    return codes


# Seconds each stage of a stop may take before it escalates (the learner's final
# checkpoint can hold the replay buffer: launch_support gives it the same 120 s).
VEHICLE_STOP_S = 15.0
LEARNER_STOP_S = 120.0
ESCALATE_S = 5.0


class Stack:
    """The processes of one stack, started in order and stopped in the documented order:
    agents and their simulators first (no more experience), then the learner (final
    checkpoint and policy artifact).
    """

    def __init__(self, groups: list[stack.Group], log_level: str = "info",
                 quiet: bool = False):
        self.groups = groups
        self.log_level = log_level
        self.quiet = quiet
        self.processes: list[Process] = []
        self._executables: dict[str, str] = {}
        self.errors_only = threading.Event()

    def start(self) -> None:
        env = stack_environment()
        for group in self.groups:
            for spec in group.nodes:
                label = f"{group.namespace}/{spec.name}".strip("/")
                self._executables[label] = spec.executable
                self.processes.append(Process(label, command(spec, self.log_level), env,
                                              self.quiet, self.errors_only,
                                              stack.nice_increment(spec.executable)))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) of each running process, by label."""
        cpu = {p.label: cpu_seconds(p.popen.pid) for p in self.processes if p.alive()}
        return {label: t for label, t in cpu.items() if t > 0}   # 0: gone meanwhile

    def failed(self) -> list[Process]:
        """Processes that exited on their own."""
        return [p for p in self.processes if not p.alive()]

    def stages(self) -> list[list[Process]]:
        """The processes in stopping order: vehicles (agents with their simulators, at
        once, so that no simulator waits for a command in vain), then the learner.
        """
        learners = [p for p in self.processes
                    if self._executables.get(p.label, p.label) == "learner"]
        vehicles = [p for p in self.processes if p not in learners]
        return [s for s in (vehicles, learners) if s]

    def stop(self, learner_timeout: float = LEARNER_STOP_S,
             hurry: threading.Event | None = None) -> dict[str, int | None]:
        """Stop every process in stopping order; ``hurry`` (set by a second Ctrl-C or
        SIGTERM) skips the remaining grace periods. Returns exit codes by label.
        From here on only the nodes' warnings and errors are copied: a stop is silent
        unless something goes wrong.
        """
        self.errors_only.set()
        codes: dict[str, int | None] = {}
        for procs in self.stages():
            learner = any(self._executables.get(p.label) == "learner" for p in procs)
            codes.update(stop_together(procs, learner_timeout if learner else VEHICLE_STOP_S,
                                       hurry))
        return codes

    def wait(self, duration: float | None, poll=None) -> str:
        """Run until ``duration`` seconds pass, a node exits, or ``poll()``; returns why."""
        start = time.monotonic()
        while duration is None or time.monotonic() - start < duration:
            if self.failed():
                return "a node exited: " + "; ".join(p.exit_report() for p in self.failed())
            if poll is not None and poll():
                return "budget reached"
            time.sleep(0.2)
        return "time limit reached"


class StopRequested(Exception):
    """A signal asked the starter to stop the stack (raised in the main thread)."""


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP: the first asks for an orderly stop, a later one hurries.

    SIGINT is reset on purpose: a shell that starts us in the background (`make train &`
    in a script) leaves it ignored, and an interrupt must still stop the run. One signal
    often arrives twice (`timeout` signals its child and then the child's process group;
    make passes a SIGTERM on to its recipe): repeats within REPEAT_S count as one.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    REPEAT_S = 2.0

    def __init__(self, label: str) -> None:
        self.label = label
        self.first_at: float | None = None
        self.name = ""
        self.hurry = threading.Event()

    def install(self) -> None:
        for sig in self.SIGNALS:
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame) -> None:
        now, name = time.monotonic(), signal.Signals(signum).name
        if self.first_at is None:
            self.first_at, self.name = now, name
            raise StopRequested(name)
        if now - self.first_at >= self.REPEAT_S and not self.hurry.is_set():
            self.hurry.set()
            print(f"[{self.label}] {name} again: not waiting any longer (SIGTERM, then "
                  f"SIGKILL after {ESCALATE_S:.0f} s)", flush=True)
