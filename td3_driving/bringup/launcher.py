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
from pathlib import Path

from td3_driving.bringup import stack


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
    return env


class Process:
    """One running node; its output is copied to ours line by line with a prefix."""

    def __init__(self, label: str, cmd: list[str], env: dict[str, str], quiet: bool = False):
        self.label = label
        self.popen = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, bufsize=1,
                                      start_new_session=True)
        self._thread = threading.Thread(target=self._pump, args=(quiet,), daemon=True)
        self._thread.start()

    def _pump(self, quiet: bool) -> None:
        for line in self.popen.stdout:
            if not quiet:
                sys.stdout.write(f"[{self.label}] {line}")
        self.popen.stdout.close()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float) -> int | None:
        """SIGINT (what Ctrl-C sends), then SIGTERM, then SIGKILL; returns the exit code."""
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0),
                          (signal.SIGKILL, 5.0)):
            if not self.alive():
                break
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        self._thread.join(2.0)
        return self.popen.returncode


class Stack:
    """The processes of one stack, started in order and stopped in reverse order."""

    def __init__(self, groups: list[stack.Group], log_level: str = "info",
                 quiet: bool = False):
        self.groups = groups
        self.log_level = log_level
        self.quiet = quiet
        self.processes: list[Process] = []

    def start(self) -> None:
        env = stack_environment()
        for group in self.groups:
            for spec in group.nodes:
                label = f"{group.namespace}/{spec.name}".strip("/")
                self.processes.append(Process(label, command(spec, self.log_level), env,
                                              self.quiet))

    def failed(self) -> list[Process]:
        """Processes that exited on their own."""
        return [p for p in self.processes if not p.alive()]

    def stop(self, learner_timeout: float = 120.0) -> dict[str, int | None]:
        # Vehicles first (no more experience), then the learner gets time to checkpoint.
        codes = {}
        for proc in reversed(self.processes):
            timeout = learner_timeout if proc.label == "learner" else 15.0
            codes[proc.label] = proc.stop(timeout)
        return codes

    def wait(self, duration: float | None, poll=None) -> str:
        """Run until ``duration`` seconds pass, a node exits, or Ctrl-C; returns why."""
        start = time.monotonic()
        try:
            while duration is None or time.monotonic() - start < duration:
                if self.failed():
                    return "a node exited: " + ", ".join(
                        f"{p.label} (code {p.popen.returncode})" for p in self.failed())
                if poll is not None and poll():
                    return "budget reached"
                time.sleep(0.2)
            return "time limit reached"
        except KeyboardInterrupt:
            return "interrupted (Ctrl-C)"
