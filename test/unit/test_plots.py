"""The plots command on tiny synthetic run directories (TensorBoard and results.json)."""

import json

import numpy as np
import pytest

from td3_driving.apps import plots


@pytest.fixture()
def learner_run(tmp_path):
    """A learner node's run: TensorBoard scalars in tb/, a summary results.json."""
    from torch.utils.tensorboard import SummaryWriter
    run = tmp_path / "ros-run"
    writer = SummaryWriter(str(run / "tb"))
    rng = np.random.default_rng(0)
    returns = np.cumsum(rng.normal(1.0, 2.0, 30))
    for i, r in enumerate(returns):
        writer.add_scalar("charts/episode_return", r, 100 * i)
        writer.add_scalar("charts/native_score", 10 * r, 100 * i)
    for u in range(0, 200, 20):
        writer.add_scalar("losses/critic", 1.0 / (1 + u), u)
        writer.add_scalar("losses/actor", -0.1 * u, u)
        writer.add_scalar("charts/q/q1_mean", 0.05 * u, u)
        writer.add_scalar("grads/critic_cnn_pre", 3.0, u)
        writer.add_scalar("charts/update_to_data", 0.25, u)
    writer.close()
    (run / "results.json").write_text(json.dumps({"stop_reason": "shutdown",
                                                  "updates": 180, "wall_time_s": 12.5}))
    return run, returns


@pytest.fixture()
def trainer_run(tmp_path):
    """The in-process trainer's results.json without event files."""
    run = tmp_path / "gym-run"
    run.mkdir()
    episodes = [{"env_steps": 250 * (i + 1), "return": float(i), "length": 250,
                 "score": float(10 * i)} for i in range(12)]
    (run / "results.json").write_text(json.dumps({
        "status": "finished", "episodes": episodes, "evals": [[1000, 5.0], [3000, 40.0]],
        "env_steps": 3000, "updates": 2750}))
    return run


def test_one_run_gives_png_panels_and_summary(learner_run, tmp_path, capsys):
    run, returns = learner_run
    out = tmp_path / "plots"
    assert plots.main([str(run), "--out", str(out)]) == 0
    png = out / "learning_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image
    height, width = matplotlib.image.imread(png).shape[:2]
    assert width > 600 and height > 600     # several panels, not an empty canvas
    printed = capsys.readouterr().out
    for title in ("Episode return", "Score (native)", "Q estimates", "Losses",
                  "Gradient norms (before clipping)", "Update-to-data ratio"):
        assert title in printed
    text = (out / "summary.txt").read_text()
    assert f"episode return: {np.mean(returns[-10:]):.3f} (mean of the last 10 of 30" in text
    assert "updates: 180" in text and "update-to-data: 0.250" in text


def test_several_runs_share_one_figure(learner_run, trainer_run, tmp_path, capsys):
    run, _ = learner_run
    out = tmp_path / "cmp"
    assert plots.main([str(run), str(trainer_run), "--out", str(out)]) == 0
    assert "results/episode_return" in plots.load_run(trainer_run).series
    assert "learning_curves.png: Episode return, Score (native)," in capsys.readouterr().out
    text = (out / "summary.txt").read_text()
    assert "gym-run" in text and "ros-run" in text
    assert "eval score (eval_return): 22.500 (mean of the last 2 of 2 points)" in text


def test_smooth_is_a_trailing_mean():
    np.testing.assert_allclose(plots.smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2),
                               [1.0, 2.0, 4.0, 6.0])


def test_a_folder_without_runs_is_a_clear_error(tmp_path, capsys):
    assert plots.main([str(tmp_path)]) == 2
    assert "no TensorBoard event files" in capsys.readouterr().err
