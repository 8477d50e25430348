"""`make train` / `make drive` on machines without `ros2 launch`.

    python -m td3_driving.apps.cli train [--num_agents 2] [--run_dir runs/x] [--duration 600]
    python -m td3_driving.apps.cli drive --policy runs/x/policy.safetensors
    python -m td3_driving.apps.cli learner --run_dir runs/x          (many hosts: the GPU host)
    python -m td3_driving.apps.cli vehicle --role_name hero1 --vehicle_index 1   (the others)

Starts the same nodes as launch/{train,drive,learner,vehicle}.launch.py (all read
td3_driving.bringup.stack) and prints progress. Ctrl-C or SIGTERM stops the agents first and the
learner last, so that it writes its final checkpoint and policy artifact; a second one
later than REPEAT_S stops without waiting. Nodes exit by themselves if this process dies.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from td3_driving.bringup import stack
from td3_driving.bringup.launcher import Stack, StopRequested, StopSignals
from td3_driving.bringup.usage import USAGE_FILE, RunUsage, describe

TRAIN_ARGS = ["num_agents", "sim", "params_file", "reward_file", "run_dir", "resume", "seed",
              "log_level"]
INTERRUPTED = "interrupted (Ctrl-C)"
DRIVE_ARGS = ["policy", "sim", "role_name", "params_file", "reward_file", "seed", "log_level"]
LEARNER_ARGS = ["params_file", "run_dir", "resume", "seed", "log_level"]
VEHICLE_ARGS = ["role_name", "vehicle_index", "mode", "sim", "params_file", "reward_file",
                "seed", "log_level", "policy"]
COMMANDS = {  # name -> (arguments, the stack it starts, help)
    "train": (TRAIN_ARGS, stack.training_stack, "simulators + agents + learner"),
    "drive": (DRIVE_ARGS, stack.drive_stack, "one vehicle driven by a policy, no learner"),
    "learner": (LEARNER_ARGS, stack.learner_stack, "the learner alone (many hosts)"),
    "vehicle": (VEHICLE_ARGS, stack.vehicle_stack, "one simulator + agent (many hosts)"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m td3_driving.apps.cli", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, (names, _, what) in COMMANDS.items():
        sp = sub.add_parser(name, help=f"start {what}")
        for arg in names:
            default, doc = stack.ARGUMENTS[arg]
            sp.add_argument(f"--{arg}", default=default, help=f"{doc} (default: {default!r})")
        sp.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: until Ctrl-C)")
        if name in ("train", "learner"):
            sp.add_argument("--max_steps", type=int, default=None,
                            help="stop once the learner has received this many agent steps "
                                 "(all agents together; default: no limit)")
        sp.add_argument("--progress_every", type=float, default=10.0,
                        help="seconds between progress lines")
        sp.add_argument("--quiet_nodes", action="store_true",
                        help="do not copy the nodes' own log output")
    return p


def _stack_args(ns: argparse.Namespace, names: list[str]) -> stack.StackArgs:
    values = {n: str(getattr(ns, n)) for n in names}
    if "run_dir" in values and values["run_dir"] == stack.ARGUMENTS["run_dir"][0]:
        values["run_dir"] = time.strftime("runs/%Y%m%d-%H%M%S")
    return stack.StackArgs.from_strings(values)


def _monitor(ns: argparse.Namespace, args: stack.StackArgs):
    from td3_driving.ros.progress import ProgressMonitor
    if ns.command == "drive":
        return ProgressMonitor(learner=False, duration=ns.duration,
                               drive_role=args.role_name if args.sim == "carracing" else None)
    return ProgressMonitor(max_steps=getattr(ns, "max_steps", None), duration=ns.duration)


def _report(label: str, ns: argparse.Namespace, monitor) -> None:
    """A drive prints each finished episode; a training run its progress line."""
    if ns.command == "drive":
        for line in monitor.take_episodes():
            print(f"[{label}] {line}", flush=True)
    else:
        print(f"[{label}] {monitor.line()}", flush=True)


def _run(groups, args: stack.StackArgs, ns: argparse.Namespace,
         signals: StopSignals) -> tuple[str, dict]:
    """Start the stack, report until a budget, a node's exit or a signal ends it, stop it
    in order; returns why it ended and the nodes that exited with an error (label: code).
    """
    label = ns.command
    nodes = Stack(groups, log_level=args.log_level, quiet=ns.quiet_nodes)
    max_steps = getattr(ns, "max_steps", None) or float("inf")
    deadline = None if ns.duration is None else time.monotonic() + ns.duration
    why, monitor, codes = "", None, {}
    usage = RunUsage(nodes.cpu_seconds) if ns.command == "train" else None

    def poll() -> bool:
        if usage is not None:
            usage.sample(monitor.steps_received(), monitor.updates())
        return monitor.steps_received() >= max_steps or bool(monitor.stop_reason())

    try:
        monitor = _monitor(ns, args)
        nodes.start()
        while not why:
            step = ns.progress_every if deadline is None else min(
                ns.progress_every, max(deadline - time.monotonic(), 0.0))
            why = nodes.wait(step, poll=poll)
            if why == "budget reached" and monitor.stop_reason():
                why = f"learner stopped training: {monitor.stop_reason()}"
                print(f"[train] {why}", file=sys.stderr, flush=True)
            elif why == "budget reached":
                why = f"step budget reached ({monitor.steps_received():,} steps)"
            elif why == "time limit reached":
                _report(label, ns, monitor)
                why = "" if deadline is None or time.monotonic() < deadline else \
                    "duration reached"
    except StopRequested as stop:
        why = INTERRUPTED if stop.args[0] == "SIGINT" else f"stopped by {stop.args[0]}"
    finally:
        # From here on a signal only hurries the stop (StopSignals): never cut it short.
        if ns.command in ("train", "learner"):
            print(f"[{label}] stopping ({why or 'interrupted'}): agents, then the learner "
                  "(final checkpoint) ...", flush=True)
        if usage is not None and monitor is not None:   # the run's end, before stopping
            usage.sample(monitor.steps_received(), monitor.updates(), force=True)
        codes = nodes.stop(hurry=signals.hurry)
        if monitor is not None:
            _report(label, ns, monitor)
            monitor.close()
        if usage is not None:
            _write_usage(label, usage, Path(args.run_dir))
    bad = {k: v for k, v in codes.items() if v not in (0, None)}
    if bad:
        print(f"[{label}] nodes exited with errors: {bad}", file=sys.stderr)
    return why, bad


def _write_usage(label: str, usage: RunUsage, run_dir: Path) -> None:
    """The run's CPU per step and update rate: printed, and kept as <run_dir>/usage.json."""
    report = usage.report()
    if report is None:
        return
    print(f"[{label}] {describe(report)}", flush=True)
    if run_dir.is_dir():
        (run_dir / USAGE_FILE).write_text(json.dumps(report, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    signals = StopSignals(ns.command)
    signals.install()      # first: a SIGINT ignored by our parent shell works from here on
    names, make_stack, _ = COMMANDS[ns.command]
    try:
        args = _stack_args(ns, names)
        groups = make_stack(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StopRequested:
        return 0              # stopped before anything started
    if ns.command == "train":
        print(f"[train] {args.num_agents} agent(s) on {args.sim}, run directory "
              f"{args.run_dir}; Ctrl-C stops and saves", flush=True)
    why, bad = _run(groups, args, ns, signals)
    if ns.command in ("train", "learner"):
        policy = Path(args.run_dir) / "policy.safetensors"
        if policy.exists():
            print(f"[{ns.command}] policy artifact: {policy}\n[{ns.command}] drive with it:\n"
                  f"    make drive POLICY={policy}\n"
                  f"    ros2 launch td3_driving drive.launch.py policy:={policy.resolve()}")
        else:
            print(f"[{ns.command}] no policy artifact was written to {policy}",
                  file=sys.stderr)
            return 1
    ok = why in ("duration reached", INTERRUPTED) or why.startswith(("step budget", "stopped by"))
    return 0 if ok and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
