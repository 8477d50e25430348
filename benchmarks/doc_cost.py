"""What the learning runs cost, and the speed goals of a training run (docs/benchmarks.md §1).

Each ROS-stack record of benchmarks/learning_smoke.py carries a "cost": the starter's
usage report (td3_driving/bringup/usage.py: CPU per agent step of every node process,
the learner's updates/s, what the rest of the machine used), the wall time per 100k
frames and the learner's standalone rate measured right after the run. A run counts as
on a quiet machine when the processes outside its nodes used at most QUIET_OTHER_CORES
meanwhile; only such runs of the default config are judged against the speed goals.
"""

from __future__ import annotations

from benchmarks.doc_format import fmt
from benchmarks.doc_learning_rows import default_row
from benchmarks.goals import LEARNER_IN_STACK as GOAL_LEARNER_IN_STACK
from benchmarks.goals import QUIET_OTHER_CORES
from benchmarks.goals import RUN_MINUTES_100K as GOAL_RUN_MINUTES


def cost_lines(rows: dict[str, list[dict]]) -> list[str]:
    """What each ROS-stack run that recorded it cost (learning_smoke.py's "cost")."""
    runs = [r for runs in rows.values() for r in runs if r.get("cost")]
    if not runs:
        return []
    lines = ["What the runs cost (CPU time of each node process from /proc, per agent step "
             "from the first received step to the end; the learner's updates/s while "
             "training next to the same learner alone right after the run (on one torch "
             "thread where the run's learner fitted its threads to the idle cores, "
             "`torch_threads: 0`), and the CPU it used (on one thread a learner keeps at most "
             "about one core busy; far less means it waited for the agents' steps, which "
             "the update-to-data ratio allows it, so then the ratio measures the agents, "
             "not the learner); the 1-minute load "
             "average at the start and end, 2 = both cores busy, and, where recorded, the "
             "CPU every process outside the stack's nodes used meanwhile (/proc/stat "
             "minus the nodes; the starter and other work on the machine):", "",
             "| record | wall time per 100k frames | CPU ms per step | learner updates/s "
             "in the stack / alone | load average |", "|---|---|---|---|---|"]
    for r in runs:
        c, usage = r["cost"], r["cost"].get("usage") or {}
        wall = c.get("wall_s_per_100k_frames")
        cpu = ", ".join(f"{label.split('/')[-1]} {ms:.1f}"
                        for label, ms in usage.get("cpu_ms_per_step", {}).items()) or "–"
        rate = learner_rates(c)
        cores = usage.get("cpu_cores", {}).get("learner")
        if cores is not None:
            rate += f"; the learner used {cores:.2f} of a core"
        load = (f"{usage['load_average_1min_start']:.1f} → {usage['load_average_1min_end']:.1f}"
                if usage else "–")
        if usage.get("other_processes_cpu_cores") is not None:
            load += f"; other processes {usage['other_processes_cpu_cores']:.2f} cores"
        lines.append(f"| `{r['file']}` | {fmt(wall / 60 if wall else None)} min | {cpu} | "
                     f"{rate} | {load} |")
    return lines + [""]


def learner_rates(cost: dict) -> str:
    """"in the stack / alone [on N threads] (ratio)" of one run's cost."""
    stack, alone = cost.get("learner_updates_per_s_in_stack"), \
        cost.get("learner_updates_per_s_standalone")
    threads = cost.get("learner_standalone_threads")
    return f"{fmt(stack, 2)} / {fmt(alone, 2)}" + (
        f" on {threads} thread{'s' if threads > 1 else ''}" if threads else "") + (
        f" ({100 * stack / alone:.0f} %)" if stack is not None and alone else "")


def quiet_runs(rows: dict[str, list[dict]]) -> list[dict]:
    """The default config's 100k-frame runs on a quiet machine (see the module's doc)."""
    def other_cores(r: dict) -> float | None:
        return ((r.get("cost") or {}).get("usage") or {}).get("other_processes_cpu_cores")
    return [r for r in rows.get(default_row(), []) if r["frames"] and r["frames"] < 150_000
            and r.get("env_steps") and other_cores(r) is not None
            and other_cores(r) <= QUIET_OTHER_CORES]


def cpu_floor(run: dict, cores: int) -> list[str]:
    """Why a run took the wall time it did: the CPU work it measured per 100k frames."""
    usage = run["cost"]["usage"]
    steps = 100_000 * run["env_steps"] / run["frames"]          # agent steps per 100k frames
    minutes = {label.split("/")[-1]: ms * steps / 60_000
               for label, ms in usage["cpu_ms_per_step"].items()}
    total = sum(minutes.values())
    learner = minutes.get("learner")
    parts = " + ".join(f"{label} {m:.1f}" for label, m in minutes.items())
    line = (f"  - why, from the same record (s{run['seed']}): per 100k frames ({steps:,.0f} "
            f"agent steps) its processes used {parts} = {total:.1f} CPU-minutes; spread "
            f"perfectly over the {cores} cores that is at least {total / cores:.1f} min of "
            "wall time")
    if learner is not None and usage.get("updates"):
        per_update = usage["cpu_ms_per_step"]["learner"] * usage["steps"] / usage["updates"]
        budget = GOAL_RUN_MINUTES * cores - (total - learner)   # CPU-minutes left to learn
        updates = run["updates"] * 100_000 / run["frames"]
        line += (f", of which the learner's share is {learner:.1f} CPU-minutes. "
                 f"{GOAL_RUN_MINUTES:g} min on {cores} cores leaves the learner "
                 f"{max(budget, 0.0):.1f} CPU-minutes for its {updates:,.0f} updates: "
                 f"{max(budget, 0.0) * 60_000 / updates:.0f} ms per update at most; here the "
                 f"learner used {per_update:.0f} ms of CPU per update (taking in replay and "
                 "publishing weights included)")
    return [line]


def cost_goal_lines(rows: dict[str, list[dict]]) -> list[str]:
    """The speed goals of a training run, judged on the default config's quiet runs."""
    head = (f"Goals of a training run's cost (the default preset with config/train.yaml as "
            f"it was at the time of each run, 100k frames, on a quiet machine: the processes "
            f"outside the stack's nodes used at most {QUIET_OTHER_CORES:g} cores meanwhile):")
    quiet = quiet_runs(rows)
    if not quiet:
        return [head, "", "- no such run recorded yet (records before the machine's CPU was "
                "sampled cannot show that their machine was quiet)", ""]
    lines = [head, ""]
    walls = [(r, r["cost"]["wall_s_per_100k_frames"] / 60) for r in quiet]
    met = all(w <= GOAL_RUN_MINUTES for _, w in walls)
    lines.append(f"- wall time per 100k frames ≤ {GOAL_RUN_MINUTES:g} min: "
                 + ", ".join(f"s{r['seed']} {w:.1f} min" for r, w in walls)
                 + f" → **{'met' if met else 'missed'}**")
    if not met:
        fastest = min(walls, key=lambda rw: rw[1])[0]
        lines += cpu_floor(fastest, fastest["machine"].get("cpus") or 2)
    ok = all(c["learner_updates_per_s_in_stack"] is not None
             and c["learner_updates_per_s_standalone"]
             and c["learner_updates_per_s_in_stack"] / c["learner_updates_per_s_standalone"]
             >= GOAL_LEARNER_IN_STACK for c in (r["cost"] for r in quiet))
    lines.append(f"- the learner's updates/s in the stack ≥ {100 * GOAL_LEARNER_IN_STACK:.0f} % "
                 "of its rate alone: " + ", ".join(
                     f"s{r['seed']} {learner_rates(r['cost'])}" for r in quiet)
                 + f" → **{'met' if ok else 'missed'}**")
    return lines + [""]
