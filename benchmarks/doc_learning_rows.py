"""The learning records as rows of the learning table, and each row's statistics.

A row is one learner or controller (ROWS); its runs are the records of its seeds, each
normalised to {seed, frames, scores, mean, std, curve, evals, ...} (learning_rows).
benchmarks/doc_learning.py renders them as section 1 of docs/benchmarks.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from benchmarks.goals import SCORE as GOAL_SCORE

# Learning rows in table order: record row id -> (label, what it is). A ROS or in-process
# row of our core is named by its observation preset (td3_driving/core/config.py).
ROWS = {
    "random": ("random policy", "uniform random (steer, accel), through the ROS stack"),
    "reference": ("reference controller", "pure pursuit + speed PID on the waypoints "
                  "(privileged: no camera), through the ROS stack"),
    "ros-route": ("td3_driving, ROS stack, `route`",
                  "camera + speed, controls and route geometry; sim_bridge + agent + "
                  "learner processes over DDS"),
    "ros-camera": ("td3_driving, ROS stack, `camera`",
                   "camera + speed, controls and yaw rate: no map, no route"),
    "ros-state": ("td3_driving, ROS stack, `state`", "the `route` vector, no image"),
    "ros-separate": ("td3_driving, ROS stack, `separate`",
                     "as above, actor and critics with their own CNNs"),
    "td3-route": ("td3_driving core in-process, `route`", "same core and config on "
                  "DrivingEnv, no ROS"),
    "td3-camera": ("td3_driving core in-process, `camera`", "as above"),
    "td3-state": ("td3_driving core in-process, `state`", "as above"),
    "gpu-camera": ("td3_driving core, parallel simulators, GPU learner, `camera`",
                   "td3_driving.apps.parallel_trainer (no ROS), the long budget"),
    "sb3-td3": ("stable-baselines3 TD3", "MultiInputPolicy on DrivingEnv (the default "
                "preset), library defaults, matched budget, UTD, replay, warm-up, batch"),
    "sb3-sac": ("stable-baselines3 SAC", "as SB3 TD3"),
}
HEADLINE_TRACKS = 100          # evaluation tracks of a headline score
# Records of the rows that do not learn: file stem -> (row id, the command that wrote it)
FIXED_ROWS = {
    "learning-reference": ("reference", "./env.sh python -m benchmarks.reference_score "
                           "--headline --out docs/benchmarks/results/learning-reference.json"),
    "learning-random": ("random", "./env.sh python -m td3_driving.apps.evaluate --random "
                        "--headline --json docs/benchmarks/results/learning-random.json"),
}


def default_row() -> str:
    """The ROS row of the package's default observation preset."""
    from td3_driving.task.driving import DEFAULT_PRESET
    return f"ros-{DEFAULT_PRESET}"


def command_problem(r: dict) -> str:
    """Why the command a record names cannot have written it ('' if it can)."""
    if r.get("command_note"):
        return r["command_note"]
    command = r.get("command", "")
    if "learning_smoke" in command and "--record" not in command:
        return "its command has no --record, so it cannot have written this record"
    return ""


def first_reach(evals: list, score: float = GOAL_SCORE) -> dict | None:
    """Frames and wall-clock minutes at the first evaluation scoring >= ``score``.

    ``evals`` holds [frames, mean score, training wall seconds] per periodic evaluation;
    None when the record has none (the row cannot say), {} when the score was not reached.
    """
    if not evals:
        return None
    for e in evals:
        if e[1] >= score:
            return {"frames": e[0], "minutes": e[2] / 60 if len(e) > 2 and e[2] else None}
    return {}


def row_label(row: str, runs: list[dict]) -> tuple[str, str]:
    """(label, what) of a row; a variant (ros-<preset>-<tag>) names its learner overrides."""
    if row in ROWS:
        return ROWS[row]
    budget = re.fullmatch(r"(.+)-(\d+)k", row)
    if budget and budget[1] in ROWS:
        label, what = ROWS[budget[1]]
        return f"{label}, {int(budget[2]):,}k-frame budget", what
    overrides = next((r["overrides"] for r in runs if r.get("overrides")), None)
    base = next((b for b in ROWS if row.startswith(b + "-")), None)
    if base is None or not overrides:
        return row, ""
    changed = ", ".join(f"`{k}: {v}`" for k, v in overrides.items())
    return f"{ROWS[base][0]} with {changed}", f"{ROWS[base][1]}; a variant, not the default"


def learning_rows(records: list[dict]) -> dict[str, list[dict]]:
    """Row id -> runs; every run normalised to {seed, frames, scores, mean, curve, ...}."""
    rows: dict[str, list[dict]] = {}
    for r in records:
        name = Path(r["_file"]).stem
        if name in FIXED_ROWS:
            row, command = FIXED_ROWS[name]
            # a record that names no command came from an earlier script: the command of
            # today's protocol did not write it, so it is not shown as if it had
            problem = "" if r.get("command") else (
                "the record names no command (it predates the records' command field and "
                f"today's protocol): re-run `{command}`")
            run = {"seed": None, "frames": None, "curve": [], "file": r["_file"],
                   "scores": [e["native_score"] for e in r["episodes"]],
                   "tracks": [r["seeds"][0], r["seeds"][-1]],
                   "command": r.get("command") or "(not recorded)",
                   "machine": r.get("machine", {}), "evals": [], "problem": problem}
            rows.setdefault(row, []).append(run)
        elif r.get("section") == "learning":
            final = r["final"]   # None: the run died (a row too, with why; no score)
            run = {"seed": r["seed"], "frames": r["frames"],
                   "scores": [e["native_score"] for e in final["episodes"]] if final else [],
                   "died": None if final else r.get("failure") or "no score recorded",
                   "curve": r.get("curve", []), "tracks": final["seeds"] if final else [],
                   "updates": r.get("updates"), "wall_s": r.get("train_wall_s"),
                   "env_steps": r.get("env_steps"),
                   "machine": r.get("machine", {}), "file": r["_file"],
                   "command": r.get("command", ""), "evals": r.get("evals", []),
                   "status": r.get("status", ""), "problem": command_problem(r),
                   "cost": r.get("cost"), "overrides": r.get("learner_overrides")}
            # a longer budget (a -<N>k record, e.g. the long camera run) is a row of its own:
            # its score must not be averaged with the 100k-frame seeds'
            budget = re.search(r"-(\d+)k$", name)
            row = r["row"] if budget is None or r["row"].startswith("gpu-") \
                else f"{r['row']}-{budget[1]}k"
            run["budget"] = int(budget[1]) * 1000 if budget else None   # frames
            rows.setdefault(row, []).append(run)
    for runs in rows.values():
        for run in runs:
            run["mean"] = float(np.mean(run["scores"])) if run["scores"] else None
            run["std"] = float(np.std(run["scores"], ddof=1)) if len(run["scores"]) > 1 \
                else None
        runs.sort(key=lambda x: (x["seed"] is None, x["seed"] or 0, x["frames"] or 0))
    return rows


def row_summary(runs: list[dict]) -> tuple[float | None, float | None, str]:
    """(mean, std, what the ± is over) of a row; std None where one seed has no spread.

    A learned row's ± is the sample standard deviation (ddof=1) of its seeds' scores, each
    the mean over its evaluation tracks (runs that died have none: `over` counts them);
    a fixed controller's is over its tracks.
    """
    if runs[0]["seed"] is None:
        return runs[0]["mean"], runs[0]["std"], f"{len(runs[0]['scores'])} tracks"
    means = [r["mean"] for r in runs if r["mean"] is not None]
    died = len(runs) - len(means)
    over = f"{len(means)} seed(s)" + (f"; {died} run(s) died, no score" if died else "")
    std = float(np.std(means, ddof=1)) if len(means) > 1 else None
    return (float(np.mean(means)) if means else None), std, over
