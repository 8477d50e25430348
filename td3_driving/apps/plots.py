"""Learning curves of one or more run directories, as PNG plus a short text summary.

    python -m td3_driving.apps.plots runs/a [runs/b ...] [--out plots/] [--smooth 10]

Reads every TensorBoard event file under each run directory (the learner writes them to
``<run>/tb``, the in-process trainer to ``<run>``) and, where no episode curves are logged,
``results.json``'s episode and evaluation lists. Draws one panel per quantity that any run
has: episode return, score, Q estimates, losses, gradient norms, update-to-data ratio,
weights lag, throughput; several runs share each panel, one colour per run. Writes
``learning_curves.png`` and ``summary.txt`` into ``--out`` (default: ``<first run>/plots``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# panel title, y label, tag patterns (regex, searched): the first matching panel wins
PANELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Episode return", "return", (r"episod\w*_return$",)),
    # the in-process trainer's eval_return is its evaluation score (native for driving)
    ("Score (native)", "score", (r"native_score$", r"episode_score$", r"eval_return$")),
    ("Route completion", "fraction", (r"route_completion$",)),
    ("Q estimates", "Q", (r"q/q1_mean$", r"q/q2_mean$", r"q/target_mean$")),
    ("Losses", "loss", (r"^losses/",)),
    ("Gradient norms (before clipping)", "L2 norm", (r"grads?/\w+_pre$",)),
    ("Update-to-data ratio", "updates / env step", (r"update_to_data$",)),
    ("Weights lag", "versions or updates", (r"lag", r"stale")),
    ("Throughput", "per second", (r"updates_per_s(econd)?$", r"/sps$")),
)


@dataclass
class Run:
    """The scalar series of one run directory: tag -> (steps, values)."""

    name: str
    path: Path
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    results: dict = field(default_factory=dict)


def _event_files(path: Path) -> list[Path]:
    return sorted(path.rglob("events.out.tfevents.*"))


def load_run(path: str | Path) -> Run:
    """Scalars from TensorBoard event files and results.json; ValueError if it has neither."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: not a run directory")
    run = Run(path.name or str(path), path)
    events = _event_files(path)
    if events:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        merged: dict[str, list[tuple[int, float]]] = {}
        for file in events:
            acc = EventAccumulator(str(file), size_guidance={"scalars": 0})
            acc.Reload()
            for tag in acc.Tags().get("scalars", []):
                merged.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
        for tag, points in merged.items():
            points.sort()
            steps, values = zip(*points)
            run.series[tag] = (np.asarray(steps, np.int64), np.asarray(values, np.float64))
    results = path / "results.json"
    if results.is_file():
        try:
            run.results = json.loads(results.read_text())
        except ValueError as exc:
            raise ValueError(f"{results}: not JSON ({exc}); plotting needs it intact") from None
        _series_from_results(run)
    if not run.series:
        raise ValueError(f"{path}: no TensorBoard event files (events.out.tfevents.*) and no "
                         "curves in results.json; is this a run directory of td3_driving?")
    return run


def _series_from_results(run: Run) -> None:
    """The in-process trainer's results.json lists episodes and evaluations."""
    episodes = run.results.get("episodes")
    if isinstance(episodes, list) and episodes and isinstance(episodes[0], dict):
        steps = np.array([e.get("env_steps", i) for i, e in enumerate(episodes)], np.int64)
        for key, tag in (("return", "results/episode_return"),
                         ("score", "results/episode_score")):
            # only where the event files lack these curves (they hold the same episodes)
            logged = any(panel_of(t) == panel_of(tag) and "episod" in t for t in run.series)
            if all(key in e for e in episodes) and not logged:
                run.series[tag] = (steps, np.array([e[key] for e in episodes], np.float64))
    evals = run.results.get("evals")
    if isinstance(evals, list) and evals and not any(t.endswith("eval_return")
                                                     for t in run.series):
        run.series["results/eval_return"] = (np.array([e[0] for e in evals], np.int64),
                                             np.array([e[1] for e in evals], np.float64))


def panel_of(tag: str) -> int | None:
    for i, (_, _, patterns) in enumerate(PANELS):
        if any(re.search(p, tag) for p in patterns):
            return i
    return None


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points (the first points average what exists)."""
    if window <= 1 or len(values) < 2:
        return values
    csum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def plot_runs(runs: list[Run], out_png: Path, window: int = 10) -> list[str]:
    """Draw the panels that have data; returns their titles."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used = sorted({p for r in runs for t in r.series if (p := panel_of(t)) is not None})
    if not used:
        tags = sorted({t for r in runs for t in r.series})
        raise ValueError("none of the runs logs a quantity these plots know (return, score, "
                         f"Q, losses, ...); tags found: {tags}")
    cols = 2 if len(used) > 1 else 1
    rows = math.ceil(len(used) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.4 * rows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ("-", "--", ":", "-.")
    for ax, panel in zip(axes.flat, used):
        title, ylabel, _ = PANELS[panel]
        for r_i, run in enumerate(runs):
            tags = sorted(t for t in run.series if panel_of(t) == panel)
            for t_i, tag in enumerate(tags):
                steps, values = run.series[tag]
                color, style = colors[r_i % len(colors)], styles[t_i % len(styles)]
                label = tag if len(runs) == 1 else f"{run.name}: {tag}"
                noisy = "episod" in tag and len(values) > window
                if noisy:   # raw episodes faint, their trailing mean on top
                    ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
                ax.plot(steps, smooth(values, window) if noisy else values, color=color,
                        linestyle=style, linewidth=1.4,
                        marker="o" if len(values) <= 20 else None, markersize=3,
                        label=label + (f" (mean of {window})" if noisy else ""))
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("step (env steps, or learner updates for learner metrics)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(used):]:
        ax.set_visible(False)
    fig.suptitle(" vs ".join(r.name for r in runs))
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return [PANELS[p][0] for p in used]


def _last_mean(run: Run, pattern: str, n: int = 10) -> tuple[float, int] | None:
    tags = [t for t in run.series if re.search(pattern, t)]
    if not tags:
        return None
    values = run.series[sorted(tags)[0]][1]
    return float(np.mean(values[-n:])), len(values)


def summary(run: Run) -> str:
    """A few lines a user reads first: where the run ended, measured from its own files."""
    lines = [f"{run.name} ({run.path})"]
    for label, pattern in (("episode return", r"(charts|results)/episod\w*_return$"),
                           ("native score", r"(native_score|episode_score)$"),
                           ("eval score (eval_return)", r"eval_return$"),
                           ("eval native score", r"^eval/native_score$"),
                           ("Q1 mean", r"q/q1_mean$"), ("critic loss", r"^losses/critic$"),
                           ("update-to-data", r"update_to_data$")):
        found = _last_mean(run, pattern)
        if found is not None:
            mean, count = found
            lines.append(f"  {label}: {mean:.3f} (mean of the last {min(count, 10)} of "
                         f"{count} points)")
    res = run.results
    for key in ("status", "stop_reason", "env_steps", "updates", "updates_per_s",
                "updates_per_second", "wall_s", "wall_time_s", "final_eval_return"):
        if key in res and res[key] is not None:
            value = res[key]
            lines.append(f"  {key}: {value:.2f}" if isinstance(value, float)
                         else f"  {key}: {value}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="run directories")
    p.add_argument("--out", type=Path, help="output folder (default: <first run>/plots)")
    p.add_argument("--smooth", type=int, default=10,
                   help="episodes in the trailing mean drawn over episode curves")
    ns = p.parse_args(argv)
    try:
        runs = [load_run(path) for path in ns.runs]
        out = ns.out or ns.runs[0] / "plots"
        panels = plot_runs(runs, out / "learning_curves.png", ns.smooth)
    except ValueError as exc:
        print(f"plots: {exc}", file=sys.stderr)
        return 2
    text = "\n\n".join(summary(r) for r in runs) + "\n"
    (out / "summary.txt").write_text(text)
    print(text + f"\n{out / 'learning_curves.png'}: {', '.join(panels)}\n{out / 'summary.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
