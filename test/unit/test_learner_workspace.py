"""The learner workspace without ROS: UTD, weights, checkpoints, resume, divergence."""

import hashlib
import json
import logging

import numpy as np
import pytest
import torch
from support.learner import Producer, tiny_configs

from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import ConfigError
from td3_driving.core.policy import Policy
from td3_driving.learner.intake import EpisodeSummary, RefusedMessage, reward_step_bound
from td3_driving.learner.workspace import Learner, RewardMismatch
from td3_driving.task.config import RewardConfig

LOG = logging.getLogger("test_learner")
BOUND = reward_step_bound(RewardConfig(), LearnerConfig().td3.gamma)


def make(run_dir, reward_bound=BOUND, **overrides):
    config, run = tiny_configs(run_dir, **overrides)
    return Learner(config, run, LOG, reward_bound)


def train_all(learner):
    """Train until no update is due (a slice is time-bounded, so loop)."""
    total = 0
    while (n := learner.train()) > 0:
        total += n
    return total


def test_updates_follow_the_ratio_and_close_leaves_checkpoint_policy_results(tmp_path):
    learner = make(tmp_path / "run", **{"td3.update_to_data": 0.5})
    producer = Producer()
    learner.receive(producer.batch(40))
    assert train_all(learner) == 0                 # warm-up: learning_starts = 40
    learner.receive(producer.batch(60))
    assert train_all(learner) == 30                # 60 steps past warm-up at 0.5
    assert learner.status()["steps_allowed"] == 40 + 60 + 32
    learner.close()
    run = learner.dir
    assert run.latest_checkpoint() == run.checkpoint_path(30)
    results = json.loads(run.results.read_text())
    assert results["updates"] == 30 and results["steps_received"] == 100
    assert results["stop_reason"] == "shutdown" and results["update_to_data"] == 0.5
    assert results["config"]["learner"]["td3"]["update_to_data"] == 0.5
    policy = Policy.load(run.policy)
    obs = {"image": np.zeros((2, 16, 16), np.uint8), "vector": np.zeros(3, np.float32)}
    expected = learner.agent.act(obs, explore=False, deployed=True)
    np.testing.assert_allclose(policy.act(obs), expected, atol=1e-6)


def test_weights_first_at_once_then_only_after_the_period_and_verifiable(tmp_path):
    learner = make(tmp_path / "run")
    producer = Producer()
    assert learner.weights_payload() is None       # no actor update yet
    learner.receive(producer.batch(44))
    train_all(learner)                             # 4 updates = 2 actor updates
    first = learner.weights_payload()
    assert first.version == 1 and first.learner_step == 4
    assert hashlib.sha256(first.data).hexdigest() == first.sha256
    Policy.from_payload(first.architecture, first.data)
    learner.receive(producer.batch(10))
    train_all(learner)
    assert learner.weights_payload() is None       # rate-limited (weights_period_s = 1)
    learner.weights.last_time -= 1.0               # as if a second had passed
    second = learner.weights_payload()
    assert second.version == 2 and second.learner_step == 14
    assert second.sha256 != first.sha256
    assert learner.weights_payload() is None
    learner.close()


def test_resume_continues_counters_and_warms_up_again_without_a_saved_buffer(tmp_path):
    learner = make(tmp_path / "run")
    producer = Producer()
    learner.receive(producer.batch(60))
    train_all(learner)
    assert learner.weights_payload().version == 1
    learner.close()

    again = make(tmp_path / "run", resume=True)
    assert again.updates == 20 and again.counts["steps_received"] == 60
    assert again.resumed_from.endswith("ckpt_000000000020.pt")
    assert len(again.buffer) == 0
    resumed = again.weights_payload()              # the resumed actor, at once
    assert resumed.version == 2 and resumed.learner_step == 20
    again.receive(producer.batch(40))
    assert train_all(again) == 0                   # a new warm-up of learning_starts
    again.receive(producer.batch(10))
    assert train_all(again) == 10 and again.updates == 30
    again.close()
    assert json.loads(again.dir.results.read_text())["resumed_from"] is not None


def test_resume_with_saved_buffer_trains_at_once_and_takes_restarted_agents(tmp_path):
    learner = make(tmp_path / "run", save_buffer_in_checkpoint=True)
    learner.receive(Producer().batch(60))
    train_all(learner)
    learner.close()
    again = make(tmp_path / "run", resume=True)
    assert again.buffer.size == 60 and len(again.buffer) > 0
    report = again.receive(Producer().batch(10))   # a restarted agent counts from 0 again
    assert report.steps_added == 10 and not report.dropped
    assert train_all(again) == 10 and again.updates == 30
    again.close()


def test_run_dir_mistakes_are_refused_clearly(tmp_path):
    with pytest.raises(ConfigError, match="holds no checkpoint"):
        make(tmp_path / "empty", resume=True)
    learner = make(tmp_path / "run")
    learner.close()
    with pytest.raises(ConfigError, match="already holds checkpoints.*resume"):
        make(tmp_path / "run")
    with pytest.raises(ConfigError, match="resume from .*does not fit"):
        make(tmp_path / "run", resume=True, **{"network.feature_dim": 8})


def test_bad_batches_store_nothing_and_gaps_are_counted_once(tmp_path):
    learner = make(tmp_path / "run")
    producer = Producer()
    learner.receive(producer.batch(10))            # sequences 0..9
    bad = producer.batch(8)                        # 10..17, frames of the wrong size
    bad.frames = np.zeros((8, 1, 8, 8), np.uint8)
    with pytest.raises(ValueError, match="frames"):
        learner.receive(bad)
    learner.refused("hero0", 8)
    assert learner.buffer.total == 10
    producer.rec.sequence += 5                     # 18..22 lost on the wire
    learner.receive(producer.batch(10))            # 23..32: one gap of 13 steps
    learner.receive(Producer().batch(3))           # hero0 again, sequences 0..2 replayed
    c = learner.counts
    assert (c["gaps"], c["missing_steps"], c["duplicates"]) == (1, 13, 3)
    # the refused batch's 8 steps are not counted again by the gap they leave
    assert c["batches_dropped"] == 1 and c["steps_dropped"] == 8 + 5 + 3
    assert c["steps_received"] == 20 and learner.buffer.total == 20
    learner.close()


def test_periodic_checkpoints_are_pruned_to_keep(tmp_path):
    learner = make(tmp_path / "run", checkpoint_period_updates=5, keep_checkpoints=2)
    producer = Producer()
    for _ in range(4):
        learner.receive(producer.batch(20 if learner.counts["steps_received"] else 45))
        train_all(learner)
    periodic = learner.dir.list_checkpoints()
    assert len(periodic) == 2                      # at least 4 written, 2 kept
    learner.close()
    final = learner.dir.list_checkpoints()
    assert len(final) == 2 and final[0] in periodic
    assert final[-1].name == f"ckpt_{learner.updates:012d}.pt"


def test_divergence_stops_training_publishes_nothing_and_keeps_the_good_checkpoint(tmp_path):
    learner = make(tmp_path / "run", reward_bound=1.0)
    producer = Producer()
    learner.receive(producer.batch(50))
    train_all(learner)
    assert learner.weights_payload().version == 1
    good = learner.save_checkpoint()
    good_actor = {k: v.clone() for k, v in learner.agent.deployed_actor.state_dict().items()}
    with torch.no_grad():                          # the critic blows up: |Q| >> 1 / (1 - gamma)
        for p in learner.agent.critic_head.parameters():
            p.mul_(1e4)
    learner.receive(producer.batch(60))
    train_all(learner)
    assert learner.diverged and "exceeds the bound" in learner.diverged
    assert str(good) in learner.diverged           # names the last healthy checkpoint
    status = learner.status()
    assert learner.train() == 0 and not status["training"]
    assert status["stop_reason"].startswith("diverged: training diverged")
    assert status["steps_allowed"] == 2**64 - 1    # no agent is left waiting
    learner.weights.last_time -= 10.0
    assert learner.weights_payload() is None
    results = json.loads(learner.dir.results.read_text())   # written at once
    assert results["diverged"] and results["stop_reason"].startswith("diverged")
    learner.close()
    assert [str(p) for p in learner.dir.list_checkpoints()] == [good]
    exported = Policy.load(learner.dir.policy).actor.state_dict()
    for key, value in good_actor.items():
        torch.testing.assert_close(exported[key], value)
    assert json.loads(learner.dir.results.read_text())["last_checkpoint"] == good


def test_tensorboard_gets_losses_grads_and_episode_charts(tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing."
                                             "event_accumulator")
    learner = make(tmp_path / "run", tensorboard=True, diagnostics_period_s=0.1)
    producer = Producer()
    learner.receive(producer.batch(60))
    train_all(learner)
    learner._last_report -= 1.0                    # as if the period had passed
    report = learner.flush_metrics()
    assert report["losses/critic"] > 0 and "grad/critic_cnn_post" in report
    learner.episode(EpisodeSummary("hero0", 12.5, 20, float("nan"), 0.25, evaluation=False))
    learner.close()
    events = event_accumulator.EventAccumulator(str(learner.dir.tensorboard))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    for tag in ("losses/critic", "losses/actor", "grads/critic_cnn_pre",
                "grads/critic_cnn_post", "charts/q/q1_mean", "charts/update_to_data",
                "charts/episode_return", "charts/episode_length", "charts/route_completion",
                "charts/policy_lag_median", "charts/policy_lag_p95"):
        assert tag in tags, tag
    assert "charts/native_score" not in tags       # NaN: not computed, not logged
    assert events.Scalars("charts/episode_return")[0].value == 12.5
    assert events.Scalars("charts/episode_return")[0].step == 60


def test_a_sequence_jump_no_agent_could_make_is_refused_and_does_not_poison_the_agent(tmp_path):
    learner = make(tmp_path / "run", **{"td3.update_to_data": 0.0})
    producer = Producer()
    learner.receive(producer.batch(10), now=1000.0)            # sequences 0..9
    forged = producer.batch(4)                                 # 10..13, jumped by 10^12
    forged.sequence = forged.sequence + np.uint64(10**12)
    with pytest.raises(RefusedMessage, match=r"sequence: jumps by 1000000000004 steps"):
        learner.receive(forged, now=1001.0)
    learner.refused("hero0", 4, "sequence", leaves_gap=False)
    producer.rec.sequence -= 4                                 # the real 10..13 follow
    report = learner.receive(producer.batch(4), now=1002.0)
    assert report.steps_added == 4 and not report.dropped and not report.gaps
    # an hour without this agent (the learner was away): a large real jump is believed
    producer.rec.sequence += 500_000
    report = learner.receive(producer.batch(4), now=1002.0 + 3600)
    assert report.steps_added == 4 and report.missing_steps == {"hero0": 500_000}
    c = learner.counts
    assert c["steps_received"] == 18 and c["batches_dropped"] == 1
    assert c["steps_dropped"] == 4 + 500_000 and learner.refusals == {"experience.sequence": 1}
    learner.close()


def test_rewards_beyond_the_rewards_own_bound_are_refused_and_change_nothing(tmp_path):
    learner = make(tmp_path / "run", **{"td3.update_to_data": 0.0})
    producer = Producer()
    learner.receive(producer.batch(10))
    before = (learner.buffer.total, dict(learner.counts), learner.lag.percentiles())
    with pytest.raises(RefusedMessage, match=r"rewards: \|reward\| 1000 exceeds the reward's "
                                             rf"bound {BOUND:.6g}.*same reward"):
        learner.receive(producer.batch(8, reward=1000.0))
    assert (learner.buffer.total, dict(learner.counts)) == before[:2]
    learner.receive(producer.batch(8, reward=BOUND))           # on the bound: fine
    assert learner.status()["reward_bound"] == BOUND
    learner.close()


def test_a_resume_with_another_reward_refuses_to_start(tmp_path):
    learner = make(tmp_path / "run")
    learner.receive(Producer().batch(60))
    train_all(learner)
    learner.close()
    with pytest.raises(RewardMismatch, match=rf"step bound is {BOUND:.6g}.*now give 3.*run_dir"):
        make(tmp_path / "run", reward_bound=3.0, resume=True)
    assert make(tmp_path / "run", resume=True).updates == 20


def test_policy_lag_is_the_versions_between_the_newest_and_the_acting_one(tmp_path):
    learner = make(tmp_path / "run", **{"td3.update_to_data": 0.0})
    producer = Producer()
    assert all(np.isnan(learner.status()[k]) for k in ("policy_lag_median", "policy_lag_p95"))
    learner.receive(producer.batch(20))                        # warm-up: no weights yet
    assert learner.lag.percentiles() == (0.0, 0.0)
    learner.weights_version = 10
    batch = producer.batch(20)
    batch.policy_version[:] = np.r_[np.full(19, 9), 2].astype(np.uint32)
    learner.receive(batch)                                     # 19 steps 1 behind, 1 is 8
    status = learner.status()
    assert status["policy_lag_median"] == 0.5                  # 20 x 0, 19 x 1, 1 x 8
    assert status["policy_lag_p95"] == pytest.approx(1.0)
    learner.close()


def test_the_update_rate_falls_to_zero_once_training_stops(tmp_path, monkeypatch):
    # train() only runs when a batch arrived; status() samples the rate (the status period)
    from td3_driving.learner import workspace
    now = [1000.0]
    monkeypatch.setattr(workspace.time, "monotonic", lambda: now[0])
    learner = make(tmp_path / "run", **{"td3.update_to_data": 0.5})
    producer = Producer()
    learner.receive(producer.batch(40))
    learner.status()
    learner.receive(producer.batch(20))
    assert learner.updates_due() == 10
    assert train_all(learner) == 10 and learner.updates_due() == 0
    now[0] += 2.0
    assert learner.status()["updates_per_second"] == pytest.approx(5.0)
    for _ in range(3):                  # no data, no training: 12 s of status periods
        now[0] += 4.0
        rate = learner.status()["updates_per_second"]
    assert rate == 0.0
    learner.close()


def test_a_reward_that_pays_finishing_less_than_the_time_limit_is_refused_before_training():
    # finishing (+5, no bootstrap) would earn less than a truncation bootstrapping up to
    # progress_weight / (1 - 0.99) = 100: the learner refuses, saying what to set
    with pytest.raises(ConfigError, match=r"reward: reward.route_complete_bonus=5 .*"
                                          r"set reward.route_complete_bonus >= 100"):
        reward_step_bound(RewardConfig(route_complete_bonus=5.0), 0.99)
    assert reward_step_bound(RewardConfig(route_complete_bonus=50.0), 0.98) == 51.0


def test_a_fitted_thread_count_is_set_by_the_training_slice_and_reported(tmp_path):
    from td3_driving.learner.threads import ThreadFitter
    config, run = tiny_configs(tmp_path / "run", torch_threads=0)
    clock = {"machine": 0.0, "own": 0.0}
    applied = []
    fitter = ThreadFitter(2, lambda: clock["machine"], lambda: clock["own"],
                          applied.append, now=0.0, period_s=1e-9)
    learner = Learner(config, run, LOG, BOUND, fitter)
    producer = Producer()
    learner.receive(producer.batch(40))
    assert train_all(learner) == 0 and applied == []    # warm-up: no slice, no count yet
    assert learner.status()["torch_threads"] == 1
    learner.receive(producer.batch(8))                   # the rest of the machine: idle
    assert train_all(learner) > 0
    assert applied == [1, 2] and learner.status()["torch_threads"] == 2
    learner.close()
