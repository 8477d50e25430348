"""Helpers every benchmark shares.

The machine facts and load averages every benchmark JSON carries (:func:`report_header`,
:func:`write_json`), a private ROS domain (:func:`private_ros_domain`), CPU and memory of a
process tree from /proc (:func:`cpu_ticks`, :func:`machine_ticks`, :func:`rss_kb`), and a
copy of config/train.yaml with learner overrides (:func:`params_file`); the machine fields
of every record come from td3_driving.apps.facts.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from td3_driving.apps.facts import command_line, machine_facts
from td3_driving.bringup.usage import cpu_ticks  # noqa: F401  (the benchmarks' import)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks" / "results"


def report_header(section: str) -> dict:
    """The start of every benchmark JSON; :func:`write_json` adds the load after."""
    return {"section": section,
            "command": command_line(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_facts(),
            "ros_domain_id": os.environ.get("ROS_DOMAIN_ID"),
            "load_average_1min_before": round(os.getloadavg()[0], 2)}


def begin_ros_report(section: str) -> dict:
    """A private ROS domain for a ROS benchmark, its report header, both announced."""
    domain = private_ros_domain()
    report = report_header(section)
    print(f"{section}: ROS_DOMAIN_ID {domain}, load average "
          f"{report['load_average_1min_before']}", flush=True)
    return report


def write_json(report: dict, path: str | Path) -> None:
    """Record the 1-minute load average after the measurement, then write ``path``."""
    report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


def private_ros_domain() -> str:
    """Give this benchmark's ROS graph a domain of its own unless a non-zero one is set.

    Domain 0 is where `make train` runs and tests use 1-100: a benchmark that met either
    would measure (and disturb) someone else's stack. Call before rclpy or any node starts.
    """
    if os.environ.get("ROS_DOMAIN_ID", "0").strip() in ("", "0"):
        os.environ["ROS_DOMAIN_ID"] = str(101 + os.getpid() % 100)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    return os.environ["ROS_DOMAIN_ID"]


def start_node(module: str, params: dict) -> subprocess.Popen:
    """``python -m td3_driving.nodes.<module>`` with parameters, in this environment."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    args = [sys.executable, "-m", f"td3_driving.nodes.{module}", "--ros-args",
            "--log-level", "warn"]
    for k, v in params.items():
        args += ["-p", f"{k}:={str(v).lower() if isinstance(v, bool) else v}"]
    return subprocess.Popen(args, env=env, cwd=ROOT)


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def spawn_module(module: str, *args: str) -> subprocess.Popen:
    """``python -m module args`` from the repository root, stdout piped (a helper process)."""
    return subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                            text=True, env=dict(os.environ), cwd=ROOT)


def wait_for_subscriber(publisher, timeout: float = 30.0) -> None:
    """Block until ``publisher`` has a subscriber; exit with a message after ``timeout``."""
    import time
    deadline = time.monotonic() + timeout
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"no subscriber appeared within {timeout:.0f} s")
        time.sleep(0.05)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]   # idle + iowait
    return sum(values) - idle, sum(values)


def rss_kb(pid: int) -> int:
    """Resident set size (VmRSS) of ``pid`` and its descendants, in KiB (0 if gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def params_file(directory: Path, learner: dict) -> str:
    """config/train.yaml with the learner's parameters overridden."""
    import yaml

    from td3_driving.bringup.stack import config_file
    params = yaml.safe_load(Path(config_file("train.yaml")).read_text())
    params["/learner"]["ros__parameters"].update(learner)
    path = directory / "train.yaml"
    path.write_text(yaml.safe_dump(params))
    return str(path)


def two_process_main(doc: str, add_arguments, publisher, measure, summary,
                     arg_names: tuple[str, ...]) -> int:
    """main() of a measurement whose publisher is a second process of the same module.

    ``measure`` starts ``python -m <module> --role publisher`` with the same arguments; in
    that process the call runs ``publisher(*args)``, otherwise ``measure(*args)`` in a
    private ROS domain and prints ``summary`` of its result.
    """
    p = argparse.ArgumentParser(description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.add_argument("--role", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    values = [getattr(args, name) for name in arg_names]
    if args.role == "publisher":
        publisher(*values)
        return 0
    private_ros_domain()
    print(summary(measure(*values)), flush=True)
    return 0


def spin_until(node, procs: list[subprocess.Popen], done, deadline: float,
               period: float = 0.5) -> None:
    """Spin ``node`` until ``done()`` or the monotonic ``deadline``; a started node process
    that exits meanwhile is an error (its own output says why).
    """
    import time

    import rclpy
    while not done() and time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a node exited early; see its output above")
        rclpy.spin_once(node, timeout_sec=period)
