"""`make train` / `make drive` on machines without `ros2 launch`.

    python -m td3_driving.apps.cli train [--num_agents 2] [--run_dir runs/x] [--duration 600]
    python -m td3_driving.apps.cli drive --policy runs/x/policy.safetensors

Starts the same nodes as launch/train.launch.py and launch/drive.launch.py (both read
td3_driving.bringup.stack), prints training progress, and on Ctrl-C stops the agents first and
the learner last, so that it writes its final checkpoint and policy artifact.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from td3_driving.bringup import stack
from td3_driving.bringup.launcher import Stack

TRAIN_ARGS = ["num_agents", "sim", "params_file", "reward_file", "run_dir", "resume", "seed",
              "log_level"]
DRIVE_ARGS = ["policy", "sim", "role_name", "params_file", "reward_file", "seed", "log_level"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m td3_driving.apps.cli", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, names in (("train", TRAIN_ARGS), ("drive", DRIVE_ARGS)):
        sp = sub.add_parser(name, help=f"start the {name} stack")
        for arg in names:
            default, doc = stack.ARGUMENTS[arg]
            sp.add_argument(f"--{arg}", default=default, help=f"{doc} (default: {default!r})")
        sp.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: until Ctrl-C)")
        if name == "train":
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
    if ns.command == "train" and values["run_dir"] == stack.ARGUMENTS["run_dir"][0]:
        values["run_dir"] = time.strftime("runs/%Y%m%d-%H%M%S")
    return stack.StackArgs.from_strings(values)


def _run(groups, args: stack.StackArgs, ns: argparse.Namespace) -> str:
    from td3_driving.ros.progress import ProgressMonitor
    nodes = Stack(groups, log_level=args.log_level, quiet=ns.quiet_nodes)
    monitor = ProgressMonitor()
    nodes.start()
    max_steps = getattr(ns, "max_steps", None) or float("inf")
    why, deadline = "", None if ns.duration is None else time.monotonic() + ns.duration
    try:
        while not why:
            step = ns.progress_every if deadline is None else min(
                ns.progress_every, max(deadline - time.monotonic(), 0.0))
            why = nodes.wait(step, poll=lambda: monitor.steps_received() >= max_steps)
            if why == "budget reached":
                why = f"step budget reached ({monitor.steps_received():,} steps)"
            elif why == "time limit reached":
                print(f"[train] {monitor.line()}", flush=True)
                why = "" if deadline is None or time.monotonic() < deadline else \
                    "duration reached"
    except KeyboardInterrupt:
        why = "interrupted (Ctrl-C)"
    finally:
        print(f"[train] stopping ({why or 'interrupted'}) ...", flush=True)
        codes = nodes.stop()
        print(f"[train] {monitor.line()}", flush=True)
        monitor.close()
    bad = {k: v for k, v in codes.items() if v not in (0, None)}
    if bad:
        print(f"[train] nodes exited with errors: {bad}", file=sys.stderr)
    return why


def main(argv: list[str] | None = None) -> int:
    ns = _parser().parse_args(argv)
    try:
        if ns.command == "train":
            args = _stack_args(ns, TRAIN_ARGS)
            groups = stack.training_stack(args)
            print(f"[train] {args.num_agents} agent(s) on {args.sim}, run directory "
                  f"{args.run_dir}; Ctrl-C stops and saves", flush=True)
        else:
            args = _stack_args(ns, DRIVE_ARGS)
            groups = stack.drive_stack(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    why = _run(groups, args, ns)
    if ns.command == "train":
        policy = Path(args.run_dir) / "policy.safetensors"
        if policy.exists():
            print(f"[train] policy artifact: {policy}\n[train] drive with it:\n"
                  f"    make drive POLICY={policy}\n"
                  f"    ros2 launch td3_driving drive.launch.py policy:={policy.resolve()}")
        else:
            print(f"[train] no policy artifact was written to {policy}", file=sys.stderr)
            return 1
    ok = why in ("duration reached", "interrupted (Ctrl-C)") or why.startswith("step budget")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
