"""Section 1 of docs/benchmarks.md: the learning table, goals, ablation, cost and plots.

The rows and their statistics come from benchmarks/doc_learning_rows.py, what the runs
cost from benchmarks/doc_cost.py, the plots from benchmarks/doc_plots.py (into the docs
folder benchmarks/make_benchmarks_doc.py passes).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from benchmarks.doc_cost import cost_goal_lines, cost_lines
from benchmarks.doc_format import cpu_words, fmt
from benchmarks.doc_learning_rows import (
    HEADLINE_TRACKS,
    ROWS,
    default_row,
    first_reach,
    learning_rows,
    row_label,
    row_summary,
)
from benchmarks.doc_plots import plot_learning
from benchmarks.goals import CAMERA_100K as GOAL_CAMERA_100K
from benchmarks.goals import CAMERA_LONG as GOAL_CAMERA_LONG
from benchmarks.goals import SCORE as GOAL_SCORE
from benchmarks.goals import SEEDS_DEFAULT as GOAL_SEEDS_DEFAULT
from benchmarks.goals import SEEDS_OTHER as GOAL_SEEDS_OTHER


def mean_std(mean: float, std: float | None) -> str:
    return fmt(mean) if std is None else f"{fmt(mean)} ± {fmt(std)}"


def time_to_goal(runs: list[dict]) -> tuple[str, str]:
    """(frames, minutes) until each run's evaluation score first reached GOAL_SCORE."""
    frames, minutes = [], []
    for r in runs:
        if r["seed"] is None:
            return "–", "–"
        hit = first_reach(r["evals"])
        tag = f"s{r['seed']}: "
        if hit is None:
            frames.append(tag + "no periodic evaluation")
            minutes.append(tag + "–")
        elif not hit:
            frames.append(tag + "not reached")
            minutes.append(tag + "not reached")
        else:
            frames.append(tag + f"{hit['frames']:,}")
            minutes.append(tag + (fmt(hit["minutes"], 0) if hit["minutes"] is not None
                                  else "–"))
    return ", ".join(frames), ", ".join(minutes)


def late_evaluations(runs: list[dict], window: int = 22_000) -> list[str]:
    """What a missed goal's runs did near the budget, from their own periodic evaluations.

    Each seed's 10-track evaluations over its last ``window`` frames, and on how many
    seeds they ended higher (or lower) than where that stretch began: one line, or none
    when no run has two evaluations in it.
    """
    parts, rose, fell = [], 0, 0
    for r in runs:
        evals = [e for e in r["evals"] if r["frames"] and e[0] >= r["frames"] - window]
        if len(evals) < 2:
            continue
        parts.append(f"s{r['seed']} " + " → ".join(fmt(e[1], 0) for e in evals))
        rose += evals[-1][1] > evals[0][1]
        fell += evals[-1][1] < evals[0][1]
    if not parts:
        return []
    best = max(e[1] for r in runs for e in r["evals"])
    return [f"  - the runs' own 10-track evaluations over each seed's last "
            f"{window // 1000}k frames: "
            + ", ".join(parts) + f"; they ended higher on {rose} of {len(parts)} seed(s) "
            f"and lower on {fell}; the best evaluation of any seed was {fmt(best)}"]


def learning_section(records: list[dict], docs: Path) -> list[str]:
    """Section 1 from the learning records; its plots are written under ``docs``."""
    rows = learning_rows(records)
    lines = ["## 1. Learning: CarRacing at a fixed frame budget", "",
             "Protocol: the embedded CarRacing-v3 simulator; training budget counted in "
             "CarRacing frames (one 50 Hz physics step; the agents act every 4 frames); "
             f"headline scores on {HEADLINE_TRACKS} evaluation tracks from 1,000,000 "
             "(disjoint from every training seed schedule; CarRacing's \"solved\" averages "
             f"100 episodes), quick checks and the evaluations during training on the first "
             "10; each episode ends exactly where the simulator's native episode ends (lap "
             "complete, playfield left, or 1000 frames), never earlier by the agent's own "
             "rules, for the reference, random and learned rows alike; no exploration noise; "
             "the simulator's native score (+1000/N per tile, −0.1 per frame). "
             "`route_completion` in every record is the simulator's fraction of the track's "
             "tiles visited. Learned rows share the budget, the update-to-data ratio (0.25 "
             "updates per agent step), replay capacity (100k), warm-up (2000 steps of random "
             "actions) and batch size (128) of config/train.yaml. In-process rows train on "
             "`td3_driving.sim.driving_env.DrivingEnv`, the agents' own observations and "
             "reward without ROS (test/nodes/test_driving_env_parity.py checks that both "
             "paths give the same observations and rewards). What a row observes is its "
             "observation preset (docs/observation.md): `route` = 4 stacked 84×84 grayscale "
             "camera frames + speed, applied controls, lateral offset and heading error to "
             "the waypoints path and curvature ahead; `camera` = the frames + speed, applied "
             "controls and yaw rate (no map, no route); `state` = the `route` vector without "
             "the image. The reward always runs along the route (docs/reward.md). "
             "`make bench-learning-ablation` runs every learned row.", ""]
    if not rows:
        return lines + ["No learning records yet: run the commands of the table below.", ""]
    lines += ["| row | what | runs | score per seed (mean over its tracks) | "
              "mean ± sample std | frames to 900 | minutes to 900 | frames | updates | "
              "train wall time |", "|---|---|---|---|---|---|---|---|---|---|"]
    for row in [*ROWS, *sorted(set(rows) - set(ROWS))]:
        if row not in rows:
            continue
        runs = rows[row]
        mean, std, over = row_summary(runs)
        per = ", ".join((f"s{r['seed']}: " if r["seed"] is not None else "")
                        + ("died †" if r.get("died") else
                           fmt(r["mean"]) + f" ({len(r['scores'])} tracks)")
                        + (" ⚠" if r["problem"] else "")
                        + (" [diverged]" if r.get("status", "").startswith("diverged")
                           else "") for r in runs)
        to_frames, to_minutes = time_to_goal(runs)
        frames = ", ".join(f"{r['frames']:,}" for r in runs if r["frames"]) or "–"
        updates = ", ".join(f"{r['updates']:,}" for r in runs if r.get("updates")) or "–"
        wall = ", ".join(f"{r['wall_s'] / 60:.0f} min" for r in runs if r.get("wall_s")) or "–"
        label, what = row_label(row, runs)
        if row == default_row():
            label += " (default)"
        lines.append(f"| {label} | {what} | {over} | {per} | **{mean_std(mean, std)}** | "
                     f"{to_frames} | {to_minutes} | {frames} | {updates} | {wall} |")
    lines += ["", "The ± of a fixed controller is the sample std over its tracks; of a "
              "learned row, the sample std (ddof=1) over its training seeds, each seed's "
              "score being the mean over its evaluation tracks; a row of one seed has no ± "
              "(its spread over the tracks is in its record). Frames and minutes to 900: "
              "the first periodic evaluation during training (10 tracks, no noise) that "
              "scored ≥ 900, in training frames and training wall-clock minutes on the "
              "machine named below.", ""]
    died = [r for runs in rows.values() for r in runs if r.get("died")]
    if died:
        lines += ["† Runs that died (no score; each is still a row of its seed, and counts "
                  "against every goal over seeds):", ""]
        lines += [f"- `{r['file']}`: {r['died']}" for r in died]
        lines.append("")
    problems = [r for runs in rows.values() for r in runs if r["problem"]]
    if problems:
        lines += ["Records marked ⚠ must be re-run or removed:", ""]
        lines += [f"- `{r['file']}`: {r['problem']}" for r in problems]
        lines.append("")
    short = sorted({r["file"] for runs in rows.values() for r in runs
                    if not r.get("died") and len(r["scores"]) < HEADLINE_TRACKS})
    if short:
        lines += [f"Records with fewer than {HEADLINE_TRACKS} evaluation tracks are quick "
                  f"checks, not headline scores: {', '.join(f'`{f}`' for f in short)}.", ""]
    lines += budget_lines(rows)
    lines += cost_lines(rows)
    lines += cost_goal_lines(rows)
    lines += goals_lines(rows)
    for alt, png in plot_learning(rows, docs):
        lines += [f"![{alt}]({png})", ""]
    lines += ["Commands and machines of the runs:", ""]
    for runs in rows.values():
        for r in runs:
            m = r.get("machine") or {}
            where = f" — {cpu_words(m)}, GPU {m.get('gpu') or 'none'}, {m.get('date')}" \
                if m else ""
            lines.append(f"- `{r['command']}` → `{r['file']}`{where}")
    return lines + [""]


def budget_lines(rows: dict[str, list[dict]]) -> list[str]:
    """Which frame budgets ran, and what the longer ones would take on these machines."""
    learned = [r for runs in rows.values() for r in runs if r["frames"]]
    budgets = sorted({round(r["frames"], -3) for r in learned})
    gpus = sorted({r["machine"].get("gpu") or "none" for r in learned})
    lines = [f"Budgets run: {', '.join(f'{b // 1000:,}k' for b in budgets) or 'none'} "
             f"frames, on GPU(s): {', '.join(gpus) or '–'}."]
    ours = [r for row, runs in rows.items() if row.startswith("ros-") for r in runs
            if r.get("wall_s") and not (r["machine"] or {}).get("gpu")]
    if ours:
        per_100k = float(np.mean([r["wall_s"] / r["frames"] * 1e5 for r in ours]))
        lines[0] += (f" On {ours[0]['machine'].get('cpus')} CPU cores a ROS-stack run took "
                     f"{per_100k / 60:.0f} min per 100k frames (mean of {len(ours)} runs). "
                     "Longer budgets resume from checkpoints across sittings (`make "
                     "bench-learning-camera-long`: `cli train --resume true` with the learner "
                     "parameter `save_buffer_in_checkpoint: true`, so the replay buffer comes "
                     "back too) or run on a GPU host (`make bench-learning-gpu`).")
    return lines + [""]


def goals_lines(rows: dict[str, list[dict]]) -> list[str]:
    default = default_row()
    lines = [f"Goals (100k frames; the default observation preset = `{default[4:]}`, ROS "
             "stack):", ""]
    ours = [r for r in rows.get(default, []) if r["frames"] and r["frames"] < 150_000]
    if not ours:
        return lines + [f"- no `{default}` record yet", ""]
    note = "" if len(ours) >= GOAL_SEEDS_DEFAULT else \
        f" (only {len(ours)} of the {GOAL_SEEDS_DEFAULT} seeds the goal asks for)"
    scored = [r["mean"] for r in ours if r["mean"] is not None]
    low = min(scored, default=None)
    died = [f"s{r['seed']}" for r in ours if r["mean"] is None]
    note += f" ({', '.join(died)} died)" if died else ""
    lines.append(f"- default preset ≥ {GOAL_SCORE:.0f} on every seed: lowest seed "
                 f"{fmt(low)} of {len(ours)}{note} → "
                 f"**{'met' if low is not None and low >= GOAL_SCORE and not note else 'missed'}**")
    if low is not None and low < GOAL_SCORE:
        lines += late_evaluations(ours)
    if "sb3-td3" in rows:
        theirs = {r["seed"]: r["mean"] for r in rows["sb3-td3"]}
        pairs = [(r["seed"], r["mean"], theirs[r["seed"]]) for r in ours
                 if r["seed"] in theirs and None not in (r["mean"], theirs[r["seed"]])]
        if pairs:
            ok = all(a >= b for _, a, b in pairs)
            short = len(pairs) < GOAL_SEEDS_OTHER   # the goal's seeds: the first three
            verdict = ("missed" if not ok else
                       f"met so far, on {len(pairs)} of the {GOAL_SEEDS_OTHER} seeds"
                       if short else "met")
            means = (f" (means over these seeds: {fmt(float(np.mean([a for _, a, _ in pairs])))}"
                     f" vs {fmt(float(np.mean([b for _, _, b in pairs])))})"
                     if len(pairs) > 1 else "")
            lines.append("- default ≥ SB3 TD3 on the same seeds: " + ", ".join(
                f"s{seed} {fmt(a)} vs {fmt(b)}" for seed, a, b in pairs)
                + f"{means} → **{verdict}**")
        else:
            lines.append("- default ≥ SB3 TD3 on the same seeds: no common seed yet")
    else:
        lines.append("- default ≥ SB3 TD3 on the same seeds: no SB3 TD3 record yet")
    camera = rows.get("ros-camera", [])
    at_100k = [r for r in camera if r["frames"] and r["frames"] < 150_000]
    if at_100k and row_summary(at_100k)[0] is not None:
        mean, _, over = row_summary(at_100k)
        lines.append(f"- `camera` ≥ {GOAL_CAMERA_100K:.0f} at 100k frames: {fmt(mean)} over "
                     f"{over} → **{'met' if mean >= GOAL_CAMERA_100K else 'missed'}**")
        if mean < GOAL_CAMERA_100K:
            lines += late_evaluations(at_100k)
    else:
        lines.append("- `camera` at 100k frames: no scored record yet")
    # a -<N>k record is judged once it reached its budget; until then it is under way
    long_runs = [r for row, runs in rows.items() if re.fullmatch(r"ros-camera-\d+k", row)
                 for r in runs]
    under_way = [r for r in long_runs if (r["frames"] or 0) < 0.99 * r["budget"]]
    longest = max(camera + [r for r in long_runs if r not in under_way]
                  + rows.get("gpu-camera", []), key=lambda r: r["frames"] or 0, default=None)
    if longest and longest["frames"] and longest["frames"] >= 150_000 \
            and longest["mean"] is not None:
        lines.append(f"- `camera` ≥ {GOAL_CAMERA_LONG:.0f} at the longest budget run "
                     f"({longest['frames']:,} frames, s{longest['seed']}): "
                     f"{fmt(longest['mean'])} → "
                     f"**{'met' if longest['mean'] >= GOAL_CAMERA_LONG else 'missed'}**")
        if longest["mean"] < GOAL_CAMERA_LONG:
            lines += late_evaluations([longest], window=60_000)
    elif not under_way:
        lines.append("- `camera` at a budget beyond 100k frames: no record yet")
    for run in under_way:
        lines.append(f"- `camera` at a {run['budget']:,}-frame budget: the long run is under way, "
                     f"{run['frames'] or 0:,} frames so far (s{run['seed']}: "
                     f"{fmt(run['mean'])}); the goal of {GOAL_CAMERA_LONG:.0f} is judged when "
                     "it reaches its budget")
    return lines + [""] + ablation_lines(rows)


def ablation_lines(rows: dict[str, list[dict]]) -> list[str]:
    """What one input adds: the difference of two presets' scores on the same seeds."""
    pairs = [("ros-route", "ros-state", "the camera adds next to the route vector"),
             ("ros-route", "ros-camera", "the route geometry adds next to the camera")]
    lines = []
    for with_, without, what in pairs:
        at = {r["seed"]: r["mean"] for r in rows.get(with_, []) if r["frames"]
              and r["frames"] < 150_000 and r["mean"] is not None}
        diffs = [(r["seed"], at[r["seed"]], r["mean"]) for r in rows.get(without, [])
                 if r["frames"] and r["frames"] < 150_000 and r["seed"] in at
                 and r["mean"] is not None]
        if not diffs:
            lines.append(f"- What {what} (`{with_[4:]}` − `{without[4:]}`, same seeds, "
                         "100k frames): no pair of records yet")
            continue
        mean = float(np.mean([a - b for _, a, b in diffs]))
        lines.append(f"- What {what} (`{with_[4:]}` − `{without[4:]}`, same seeds, 100k "
                     "frames): " + ", ".join(f"s{seed} {fmt(a)} − {fmt(b)} = {a - b:+.1f}"
                                              for seed, a, b in sorted(diffs))
                     + f"; mean {mean:+.1f} over {len(diffs)} seed(s)")
    return ["Ablation:", ""] + lines + [""]
