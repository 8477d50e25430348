"""The plots of docs/benchmarks.md section 1, as PNGs in docs/benchmarks/.

Training curves (route completion of the training episodes, with exploration noise), the
periodic evaluations (native score on 10 tracks, no noise: the frames-to-score curve of
every run, the long ones included) and the final scores per row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.doc_learning_rows import ROWS, row_label, row_summary
from benchmarks.goals import SCORE as GOAL_SCORE

FRAMES = "CarRacing frames (50 Hz physics steps)"


def smooth(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) < n:
        return y
    return np.convolve(y, np.ones(n) / n, mode="valid")


def plot_learning(rows: dict[str, list[dict]], docs: Path) -> list[tuple[str, str]]:
    """Every plot of the section as (alt text, path relative to ``docs``), in the order
    the document shows them.
    """
    import matplotlib
    matplotlib.use("Agg")
    return [(alt, _save(plot(rows), docs / "benchmarks" / name).relative_to(docs).as_posix())
            for alt, name, plot in (("learning curves", "learning_curves.png", training_curves),
                                    ("evaluation curves", "evaluation_curves.png",
                                     evaluation_curves),
                                    ("final scores", "final_scores.png", final_scores))]


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _legend(ax) -> None:
    """A legend for the labelled lines, none for a plot without them (no matplotlib warning)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _colors(rows: dict[str, list[dict]]) -> dict[str, str]:
    """One colour per row that has training curves, the same in every plot."""
    return {row: f"C{i}" for i, row in enumerate(k for k, v in rows.items() if v[0]["curve"])}


def training_curves(rows: dict[str, list[dict]]):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for row, color in _colors(rows).items():
        runs = rows[row]
        for j, run in enumerate(runs):
            c = np.array([[p[0], p[2]] for p in run["curve"]], float)
            if len(c) < 2:
                continue
            n = min(20, max(1, len(c) // 10))
            ax.plot(c[n - 1:, 0] if len(c) >= n else c[:, 0], 100 * smooth(c[:, 1], n),
                    color=color, alpha=0.85, lw=1.2,
                    label=row_label(row, runs)[0] if j == 0 else None)
    ax.set_xlabel(FRAMES)
    ax.set_ylabel("route completion per training episode, %\n(moving mean of 20 episodes)")
    ax.set_title("Learning curves (training episodes, with exploration noise)")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig


def evaluation_curves(rows: dict[str, list[dict]]):
    """Each run's periodic 10-track evaluations (lines) and its final score (a dot)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for row, color in _colors(rows).items():
        runs, labelled = rows[row], False
        for run in runs:
            evals = np.array([e[:2] for e in run["evals"]], float).reshape(-1, 2)
            if len(evals):
                ax.plot(evals[:, 0], evals[:, 1], color=color, alpha=0.8, lw=1.1,
                        marker=".", ms=3, label=None if labelled else row_label(row, runs)[0])
                labelled = True
            if run["mean"] is not None and run["frames"]:
                ax.plot([run["frames"]], [run["mean"]], "o", color=color, ms=5,
                        mec="k", mew=0.6)
    ax.axhline(GOAL_SCORE, color="k", ls="--", lw=1, label=f"goal {GOAL_SCORE:.0f}")
    ax.set_xlabel(FRAMES)
    ax.set_ylabel("native score")
    ax.set_title("Evaluations during training (10 tracks, no noise); "
                 "dots: final score of each run")
    ax.grid(alpha=0.3)
    _legend(ax)
    return fig


def final_scores(rows: dict[str, list[dict]]):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4))
    labels, means, stds = [], [], []
    for row in ROWS:
        if row in rows:
            m, s, _ = row_summary(rows[row])
            if m is None:
                continue
            labels.append(ROWS[row][0].replace(", ", ",\n"))
            means.append(m)
            stds.append(s or 0.0)
    ax.bar(range(len(labels)), means, yerr=stds, capsize=4,
           color=[f"C{i}" for i in range(len(labels))])
    ax.axhline(GOAL_SCORE, color="k", ls="--", lw=1, label=f"goal {GOAL_SCORE:.0f}")
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylabel("native score (evaluation tracks of each record)")
    _legend(ax)
    ax.grid(axis="y", alpha=0.3)
    return fig
