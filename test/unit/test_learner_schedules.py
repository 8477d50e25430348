"""The learner's ROS-free bookkeeping: UTD limiter, schedules, run directory, metrics."""

import json
import math

import pytest

from td3_driving.learner.metrics import EpisodeLog, MetricsAverager, RateMeter, tensorboard_tag
from td3_driving.learner.run_files import RunDir
from td3_driving.learner.schedules import (
    UNLIMITED,
    CheckpointSchedule,
    UpdateToDataLimiter,
    WeightsSchedule,
    actor_updates,
)


def test_no_updates_during_warm_up_then_exactly_the_ratio():
    lim = UpdateToDataLimiter(ratio=0.5, learning_starts=100, slack=10)
    assert lim.updates_due(100, 0) == 0 and not lim.training(100)
    assert lim.training(101)
    assert lim.updates_due(120, 0) == 10           # 20 steps past warm-up * 0.5
    assert lim.updates_due(120, 7) == 3
    assert lim.updates_due(120, 12) == 0           # never negative
    assert lim.measured_ratio(120, 10) == pytest.approx(0.5)
    assert lim.measured_ratio(90, 0) == 0.0


def test_steps_allowed_follows_the_done_updates_plus_slack():
    lim = UpdateToDataLimiter(ratio=2.0, learning_starts=100, slack=10)
    assert lim.steps_allowed(0) == 110             # warm-up is never throttled
    assert lim.steps_allowed(40) == 130            # 40 updates justify 20 steps
    assert lim.steps_allowed(41) == 130


def test_fractional_ratio_does_not_lose_updates_to_rounding():
    lim = UpdateToDataLimiter(ratio=0.1, learning_starts=0, slack=0)
    assert lim.updates_due(30, 0) == 3
    assert lim.steps_allowed(3) == 30


def test_ratio_zero_disables_updates_and_backpressure():
    lim = UpdateToDataLimiter(ratio=0.0, learning_starts=0, slack=0)
    assert lim.updates_due(10_000, 0) == 0 and not lim.training(10_000)
    assert lim.steps_allowed(0) == UNLIMITED


def test_restart_counts_a_new_warm_up_and_survives_a_state_round_trip():
    lim = UpdateToDataLimiter(ratio=1.0, learning_starts=50, slack=5)
    lim.restart(steps_received=1000, updates=900)
    assert lim.updates_due(1040, 900) == 0
    assert lim.updates_due(1060, 900) == 10
    assert lim.steps_allowed(900) == 1055
    other = UpdateToDataLimiter(ratio=1.0, learning_starts=50, slack=5)
    other.load_state(json.loads(json.dumps(lim.state())))
    assert other.updates_due(1060, 905) == 5


def test_negative_settings_are_refused():
    with pytest.raises(ValueError, match="slack"):
        UpdateToDataLimiter(ratio=1.0, learning_starts=0, slack=-1)


@pytest.mark.parametrize("ratio", [0.25, 1.0, 4.0])
def test_producer_under_backpressure_holds_the_ratio_within_ten_percent(ratio):
    """A producer much faster than the learner: it may only send up to steps_allowed.

    Data runs at most slack + one batch ahead of the updates, so the ratio is within 10 %
    once ten times that much data has arrived after the warm-up.
    """
    lim = UpdateToDataLimiter(ratio=ratio, learning_starts=200, slack=64)
    steps = updates = checked = 0
    batch, learner_speed = 16, 3     # learner does at most 3 updates per producer tick
    for _ in range(20_000):
        if steps + batch <= lim.steps_allowed(updates):
            steps += batch
        updates += min(learner_speed, lim.updates_due(steps, updates))
        assert steps <= lim.steps_allowed(updates) + batch
        if steps - 200 >= 10 * (64 + batch):
            assert lim.measured_ratio(steps, updates) == pytest.approx(ratio, rel=0.10)
            checked += 1
    assert checked > 1000


def test_weights_are_published_first_at_once_then_rate_limited_and_only_when_changed():
    s = WeightsSchedule(period_s=1.0)
    assert not s.due(0.0, 0)                       # no actor update yet: nothing to send
    assert s.due(0.0, 1)
    s.published(0.0, 1)
    assert not s.due(0.5, 5)                       # too soon
    assert s.due(1.0, 5)
    s.published(1.0, 5)
    assert not s.due(9.0, 5)                       # unchanged actor
    assert actor_updates(7, 2) == 3


def test_checkpoints_by_count_or_time_and_never_without_new_updates():
    s = CheckpointSchedule(period_updates=100, period_s=60.0, now=0.0, updates=0)
    assert not s.due(1.0, 99) and s.due(1.0, 100)
    assert s.due(60.0, 1)
    s.done(60.0, 100)
    assert not s.due(500.0, 100)
    off = CheckpointSchedule(period_updates=0, period_s=0.0, now=0.0)
    assert not off.due(1e9, 10**9)


def test_run_dir_lists_in_update_order_and_prunes_replay_files(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create()
    for n in (5, 1000, 20):
        run.checkpoint_path(n).write_bytes(b"x")
        run.replay_path(run.checkpoint_path(n)).write_bytes(b"y")
    (run.checkpoints / ".ckpt_000000002000.pt.tmp12").write_bytes(b"partial")
    assert [p.name for p in run.list_checkpoints()] == [
        "ckpt_000000000005.pt", "ckpt_000000000020.pt", "ckpt_000000001000.pt"]
    assert run.latest_checkpoint() == run.checkpoint_path(1000)
    removed = run.prune(keep=2)
    assert removed == [run.checkpoint_path(5)]
    assert not run.replay_path(run.checkpoint_path(5)).exists()
    assert run.replay_path(run.checkpoint_path(20)).exists()


def test_results_are_valid_json_with_numpy_scalars(tmp_path):
    np = pytest.importorskip("numpy")
    run = RunDir(tmp_path / "run")
    run.write_results({"updates": np.int64(3), "mean": np.float32(0.5)})
    assert json.loads(run.results.read_text()) == {"updates": 3, "mean": 0.5}
    assert [p.name for p in run.root.iterdir()] == ["results.json"]


def test_tensorboard_namespaces():
    assert tensorboard_tag("losses/critic") == "losses/critic"
    assert tensorboard_tag("grad/critic_cnn_pre") == "grads/critic_cnn_pre"
    assert tensorboard_tag("q/q1_mean") == "charts/q/q1_mean"


def test_metrics_average_between_reports_and_rate_over_a_window():
    avg = MetricsAverager()
    assert avg.pop() == {}
    avg.add({"a": 1.0, "actor": 5.0})
    avg.add({"a": 3.0})                            # no actor update this time
    assert avg.pop() == {"a": 2.0, "actor": 5.0} and avg.pop() == {}
    meter = RateMeter(window_s=10.0)
    assert meter.rate() == 0.0
    for t in range(30):
        meter.add(float(t), 5 * t)
    assert meter.rate() == pytest.approx(5.0)


def test_episode_log_means_the_last_finite_returns_and_round_trips():
    log = EpisodeLog()
    assert math.isnan(log.mean_return())
    for r in range(20):
        log.add(float(r), math.nan)
    log.add(math.nan, 900.0)
    assert log.count == 21
    assert log.mean_return(10) == pytest.approx(sum(range(10, 20)) / 10)
    assert log.mean_native_score() == 900.0
    copy = EpisodeLog()
    copy.load_state(json.loads(json.dumps(log.state())))
    assert copy.count == 21 and copy.mean_return(10) == log.mean_return(10)
