"""Helpers every benchmark shares.

The machine facts and load averages every benchmark JSON carries (:func:`report_header`,
:func:`write_json`), a private ROS domain (:func:`private_ros_domain`), before/after runs of
several checkouts (:func:`compare_trees`, :func:`source_tree`), node processes under
cProfile (:func:`profiled`), CPU and memory of a process tree from /proc
(:func:`cpu_ticks`, :func:`machine_ticks`, :func:`rss_kb`), and a copy of config/train.yaml
with learner overrides (:func:`params_file`); the machine fields of every record come from
td3_driving.apps.facts.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Callable

from td3_driving.apps.facts import command_line, machine_facts
from td3_driving.bringup.usage import cpu_ticks, machine_ticks  # noqa: F401  (the benchmarks')

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


def source_tree(directory: str | Path | None = None) -> dict:
    """Which commit's code a measurement ran: a checkout's HEAD (default: this one).

    ``modified`` is True when tracked files differ from that commit (untracked files, such
    as generated messages copied into an older checkout, do not count).
    """
    path = Path(directory or ROOT).resolve()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(path), *args], capture_output=True,
                              text=True, check=True).stdout.strip()
    try:
        commit, date, subject = git("log", "-1", "--format=%H%n%cI%n%s").split("\n", 2)
        modified = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        raise SystemExit(f"{path}: not a git checkout ({exc}); a before/after record must "
                         "name the commit it measured") from exc
    return {"dir": str(path), "commit": commit, "commit_date": date, "subject": subject,
            "modified": modified}


def compare_trees(sources: list[str | None], rounds: int, run: Callable[[str | None], dict],
                  figures: tuple[str, ...]) -> list[dict]:
    """Measure each source tree ``rounds`` times, the trees in turn within each round.

    Interleaved, a busy machine's load falls on every tree alike. ``run(source)`` measures
    once and returns a dict; per tree the result holds its commit (:func:`source_tree`), every
    run and, for each key of ``figures``, the median over the runs.
    """
    trees = [{"source": source_tree(s), "runs": []} for s in sources]
    for r in range(rounds):
        for tree, source in zip(trees, sources):
            result = run(source)
            tree["runs"].append(result)
            print(f"round {r + 1}/{rounds}, {tree['source']['commit'][:10]}: "
                  + ", ".join(f"{k} {result[k]}" for k in figures if k in result), flush=True)
    for tree in trees:
        for k in figures:
            values = [x[k] for x in tree["runs"] if k in x]
            if values:
                tree[k] = round(statistics.median(values), 2)
    return trees


def profiled(argv: list[str], out: str | Path) -> list[str]:
    """``argv`` (``python -m module ...`` or ``python script ...``) under benchmarks/profiled.py:
    cProfile between SIGUSR1 and SIGUSR2 (see :func:`print_profile`), stats written to ``out``.
    """
    return [argv[0], str(ROOT / "benchmarks" / "profiled.py"), str(Path(out).resolve()),
            *argv[1:]]


def print_profile(path: str | Path, what: str, top: int = 25) -> None:
    """The top entries of a profile written by :func:`profiled`, by own and cumulative time."""
    import pstats
    print(f"cProfile of {what}: top {top} by own time, then by cumulative time")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def profile_shares(path: str | Path, parts: dict[str, tuple[str, str]]) -> dict:
    """Where a profile's CPU time went: each part's cumulative time as a share of the total.

    ``parts`` maps a label to (file name ending, function name) of one profiled function
    (builtins: file "~"); parts may nest (a share of the tick holds its rendering).
    """
    import pstats
    stats = pstats.Stats(str(path))
    total = stats.total_tt   # type: ignore[attr-defined]
    shares = {}
    for label, (file_end, function) in parts.items():
        cumulative = sum(v[3] for (f, _, name), v in stats.stats.items()   # type: ignore
                         if f.endswith(file_end) and name == function)
        shares[label] = round(cumulative / total, 3) if total else None
    return {"profiled_cpu_s": round(total, 2), "shares": shares}


def variant_problem(tag: str, changes_learning: bool) -> str | None:
    """Why a learning run's --tag/--set cannot be recorded as given (None: it can).

    A run whose learning settings differ from the package's is a variant, its own row named
    by ``tag``: its record must never replace the default's. ``tag`` names files.
    """
    if changes_learning and not tag:
        return ("--set makes a variant of the default: name it with --tag (its record must "
                "not replace the default's)")
    if tag and not tag.replace("_", "").isalnum():
        return f"--tag {tag!r}: letters, digits and _ only (it names files)"
    return None


def private_ros_domain() -> str:
    """Give this benchmark's ROS graph a domain of its own unless a non-zero one is set.

    Domain 0 is where `make train` runs and tests use 1-100: a benchmark that met either
    would measure (and disturb) someone else's stack. Of 101-200 it takes the first domain
    from ``101 + pid % 100`` on where no process of this host has a DDS participant: two
    benchmarks in one domain command each other's simulators. Call before rclpy or any node
    starts.
    """
    if os.environ.get("ROS_DOMAIN_ID", "0").strip() in ("", "0"):
        busy = domains_in_use()
        start = os.getpid() % 100
        free = next((101 + (start + i) % 100 for i in range(100)
                     if 101 + (start + i) % 100 not in busy), 101 + start)
        os.environ["ROS_DOMAIN_ID"] = str(free)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    return os.environ["ROS_DOMAIN_ID"]


def domains_in_use() -> set[int]:
    """ROS domains in which a process of this host has a DDS participant.

    RTPS fixes each participant's discovery and data ports at 7400 + 250 * domain + 0..~120
    (two per participant); a UDP socket bound there means that domain is taken. An unrelated
    socket that happens to sit in such a range only makes a domain look taken.
    """
    used = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            port = int(line.split()[1].rsplit(":", 1)[1], 16) - 7400
            if port >= 0 and port % 250 < 120:
                used.add(port // 250)
    return used


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
