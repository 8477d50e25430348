"""The learner under bad experience and statistics, a full or read-only run directory,
restarts, a divergence, and the cli's answer to it."""

import array
import errno
import json
import math

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

import safetensors.torch  # noqa: E402
import torch  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from support.learner_node import FakeAgent, make_learner, remove  # noqa: E402

from td3_driving.bringup.stack import EPISODE_STATS_TOPIC, LEARNER_STATUS_TOPIC  # noqa: E402
from td3_driving.core import files as files_module  # noqa: E402  (atomic_write opens here)
from td3_driving.core.checkpoint import load_checkpoint  # noqa: E402
from td3_driving.core.policy import actor_payload  # noqa: E402
from td3_driving.core.td3 import TD3Agent  # noqa: E402
from td3_driving.msg import EpisodeStats, LearnerStatus  # noqa: E402
from td3_driving.ros import qos  # noqa: E402
from td3_driving.ros.experience_msg import step_batch_to_msg  # noqa: E402

pytestmark = pytest.mark.ros


def feed(graph, agent, until, timeout=30.0, **batch):
    def step():
        if agent.status and agent.sent + 16 <= agent.status[-1].steps_allowed:
            agent.send(16, **batch)
        return until()
    assert graph.spin_until(step, timeout=timeout)


def checkpoints(run) -> list:
    """The run's complete checkpoints, oldest first."""
    return sorted((run / "checkpoints").glob("ckpt_*.pt"))


def checkpointed(graph, run, count=1, **overrides):
    """A learner that checkpoints every 20 updates, fed by a fake agent until it wrote
    ``count`` checkpoints: (learner node, agent, the newest checkpoint)."""
    learner = make_learner(graph, run, checkpoint_period_updates=20, **overrides)
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: len(checkpoints(run)) >= count)
    return learner, agent, checkpoints(run)[-1]


def test_duplicates_non_finite_and_wrong_shapes_store_nothing_corrupt(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run", **{"td3.update_to_data": 0.0})
    core = learner.learner
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    first = agent.producer.batch(16)
    agent.pub.publish(step_batch_to_msg(first))
    assert graph.spin_until(lambda: core.counts["steps_received"] == 16)
    agent.pub.publish(step_batch_to_msg(first))            # the same batch again
    # a buggy or foreign producer: self-consistent messages with bad content
    nan = step_batch_to_msg(agent.producer.batch(8))
    nan.rewards[3] = math.nan
    agent.pub.publish(nan)
    inf = step_batch_to_msg(agent.producer.batch(8))
    inf.vectors[1] = math.inf
    agent.pub.publish(inf)
    actions = step_batch_to_msg(agent.producer.batch(8))
    actions.action_size = 3                                  # another action size
    actions.actions = array.array("f", [0.0] * 24)
    agent.pub.publish(actions)
    agent.send(16)
    assert graph.spin_until(lambda: core.counts["steps_received"] == 32)
    assert graph.spin_until(lambda: core.counts["batches_dropped"] == 3)
    assert core.counts["duplicates"] == 16
    # 24 refused steps leave a gap that is counted once, with the 16 duplicates
    assert graph.spin_until(lambda: agent.status[-1].steps_dropped == 16 + 24)
    errors = agent.log_text(Log.ERROR)
    assert "/td3/replay" in errors and "rewards contains NaN or inf" in errors
    assert "vectors contains NaN or inf" in errors and "actions has shape (8, 3)" in errors
    assert graph.spin_until(lambda: "duplicate/out-of-order step(s) dropped" in
                            agent.log_text(Log.WARN))
    buf = core.buffer
    n = buf.total
    assert n == 32
    assert np.isfinite(buf.rewards[:n]).all() and np.isfinite(buf.vectors[:n]).all()


def _disk_fault(err, only=""):
    """``open`` that fails every write (of a path containing ``only``) with ``err``."""
    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode and only in str(path):
            raise OSError(err, f"[fault injection] {errno.errorcode[err]}", str(path))
        return open(path, mode, *args, **kwargs)
    return failing_open


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_a_checkpoint_that_cannot_be_written_is_an_error_and_training_goes_on(
        graph, tmp_path, monkeypatch, err):
    run = tmp_path / "run"
    learner, agent, good = checkpointed(graph, run)
    core = learner.learner
    before = good.read_bytes()
    # the disk fills up (or is remounted read-only) under the running learner
    monkeypatch.setattr(files_module, "open", _disk_fault(err), raising=False)
    updates = core.updates
    feed(graph, agent, lambda: errno.errorcode[err] in agent.log_text(Log.ERROR)
         and core.updates > updates + 40)
    error = agent.log_text(Log.ERROR)
    assert "cannot write checkpoint" in error and str(good) in error and "is intact" in error
    assert "training continues" in error
    assert sorted((run / "checkpoints").iterdir()) == [good]   # no temp or half file
    assert good.read_bytes() == before
    # the disk is back: checkpoints resume, the good one still loads
    monkeypatch.undo()
    feed(graph, agent, lambda: checkpoints(run)[-1] != good)
    load_checkpoint(good, TD3Agent(core.config))


def test_a_run_dir_that_fails_at_shutdown_keeps_the_previous_checkpoint(
        graph, tmp_path, monkeypatch, capfd):
    run = tmp_path / "run"
    learner, agent, good = checkpointed(graph, run)
    # the checkpoint (hundreds of MB) fills the disk; the small results.json still fits
    monkeypatch.setattr(files_module, "open", _disk_fault(errno.ENOSPC, only="ckpt_"),
                        raising=False)
    capfd.readouterr()
    remove(graph, learner)                                     # close() must not raise
    err = capfd.readouterr().err
    assert "final cannot write checkpoint" in err and "ENOSPC" in err, err
    assert checkpoints(run)[-1] == good
    results = json.loads((run / "results.json").read_text())
    assert results["stop_reason"] == "shutdown (final checkpoint failed)"


def test_resume_skips_a_damaged_newest_checkpoint_and_temp_files(graph, tmp_path):
    run = tmp_path / "run"
    first, agent, _ = checkpointed(graph, run, count=2, keep_checkpoints=5)
    remove(graph, first)
    previous, newest = checkpoints(run)[-2:]
    # a crash mid-write leaves only a temp name; damage the newest complete one too
    (run / "checkpoints" / f".ckpt_{99**5:012d}.pt.tmp4242").write_bytes(b"PK\x03\x04half")
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    stored = torch.load(previous, weights_only=True)["agent"]["iteration"]
    second = make_learner(graph, run, resume=True)
    assert second.learner.updates == int(stored)
    assert second.learner.resumed_from == str(previous)


def test_steps_sent_while_the_learner_was_down_are_counted_as_lost(graph, tmp_path):
    run = tmp_path / "run"
    first, agent, ckpt = checkpointed(graph, run)
    # the learner is killed: no final checkpoint (close() never runs)
    graph.nodes.remove(first)
    graph.executor.remove_node(first)
    first.learner._closed = True
    first.destroy_node()
    extra = json.loads(torch.load(ckpt, weights_only=True)["extra_json"])
    received_at_ckpt = extra["steps_received"]
    for _ in range(3):
        agent.send(16)                              # into the void: nobody stores them
    second = make_learner(graph, run, resume=True)
    core = second.learner
    assert graph.spin_until(lambda: agent.pub.get_subscription_count() > 0)
    agent.send(16)
    assert graph.spin_until(lambda: core.counts["steps_received"] == received_at_ckpt + 16)
    lost = agent.sent - 16 - received_at_ckpt
    assert lost >= 48
    assert core.counts["missing_steps"] - extra["missing_steps"] == lost
    assert core.counts["steps_dropped"] - extra["steps_dropped"] == lost
    assert graph.spin_until(lambda: f"losing {lost} step(s)" in agent.log_text(Log.WARN))


def test_an_agent_that_vanishes_leaves_the_learner_training_on_the_others(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run")
    core = learner.learner
    one, two = FakeAgent(graph, "agent_one", "hero0"), FakeAgent(graph, "agent_two", "hero1")
    assert graph.spin_until(lambda: one.connected() and two.connected())
    feed(graph, one, lambda: core.updates > 10)
    graph.nodes.remove(one.node)
    graph.executor.remove_node(one.node)
    one.node.destroy_node()                         # killed mid-episode
    updates = core.updates
    feed(graph, two, lambda: core.updates > updates + 40)
    assert core.diverged is None


def test_a_batch_with_rewards_beyond_the_bound_is_refused_and_training_goes_on(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run")
    core = learner.learner
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: agent.weights)
    # one batch with reward 1000 per step (beyond the reward's step bound): before, it was
    # stored, tripped the watchdog, stopped training for good and held the agents silently
    agent.send(16, reward=1000.0)
    assert graph.spin_until(lambda: agent.status[-1].messages_refused == 1)
    updates = core.updates
    feed(graph, agent, lambda: core.updates > updates + 40)
    assert core.diverged is None and agent.status[-1].training
    assert agent.status[-1].stop_reason == ""
    assert agent.status[-1].reward_bound == pytest.approx(core.reward_bound)
    error = agent.log_text(Log.ERROR)
    assert "/td3/replay: refused a batch of 16 steps from agent 'hero0'" in error
    assert "rewards: |reward| 1000 exceeds the reward's bound" in error
    assert "same reward.* parameters" in error
    assert np.abs(core.buffer.rewards[:core.buffer.total]).max() <= core.reward_bound


def test_a_sequence_jump_no_agent_could_make_is_refused_and_the_agent_goes_on(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run", **{"td3.update_to_data": 0.0})
    core = learner.learner
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    agent.send(16)
    assert graph.spin_until(lambda: core.counts["steps_received"] == 16)
    # one batch under the real agent's id, its sequence numbers jumped by 10^12: before,
    # believed, and every later batch of that agent was dropped as a duplicate, silently
    forged = agent.producer.batch(16)
    forged.sequence = forged.sequence + np.uint64(10**12)
    agent.producer.rec.sequence -= 16                   # the real agent goes on from 16
    agent.pub.publish(step_batch_to_msg(forged))
    assert graph.spin_until(lambda: core.counts["batches_dropped"] == 1)
    for _ in range(3):
        agent.send(16)
    assert graph.spin_until(lambda: core.counts["steps_received"] == 64)
    assert core.counts["duplicates"] == 0 and core.counts["gaps"] == 0
    assert graph.spin_until(lambda: agent.status[-1].messages_refused == 1)
    error = agent.log_text(Log.ERROR)
    assert "/td3/replay: refused a batch of 16 steps from agent 'hero0'" in error
    assert "sequence: jumps by 1000000000016 steps" in error and "not believed" in error


def test_episode_statistics_no_agent_could_report_are_refused(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run", **{"td3.update_to_data": 0.0})
    probe = graph.node("episode_probe")
    logs: list[Log] = []
    probe.create_subscription(Log, "/rosout", logs.append, 100)
    pub = probe.create_publisher(EpisodeStats, EPISODE_STATS_TOPIC, qos.STATS)
    assert graph.spin_until(lambda: pub.get_subscription_count() > 0)
    for bad in (dict(episode_return=1e6, length=20), dict(episode_return=math.inf, length=20),
                dict(episode_return=1.0, length=20, route_completion=7.0)):
        pub.publish(EpisodeStats(agent_id="hero0", native_score=math.nan, **bad))
    pub.publish(EpisodeStats(agent_id="hero0", episode_return=3.0, length=20,
                             native_score=math.nan))
    core = learner.learner
    assert graph.spin_until(lambda: core.episodes.count == 1
                            and core.counts["episodes_refused"] == 3)
    assert list(core.episodes.returns) == [3.0]
    assert graph.spin_until(lambda: "route_completion: 7.0 is outside 0..1" in
                            "\n".join(m.msg for m in logs))
    text = "\n".join(m.msg for m in logs)
    assert "/td3/episode_stats: refused episode statistics from agent 'hero0'" in text
    assert "episode_return: 1e+06 is beyond what 20 steps" in text
    assert "episode_return: is infinite" in text


def test_a_divergence_stops_training_says_why_and_releases_the_agents(graph, tmp_path):
    run = tmp_path / "run"
    learner, agent, healthy = checkpointed(graph, run)
    core = learner.learner
    with torch.no_grad():                      # the critic blows up: |Q| beyond the bound
        for p in core.agent.critic_head.parameters():
            p.mul_(1e4)
    feed(graph, agent, lambda: agent.status[-1].stop_reason != "")
    status = agent.status[-1]
    assert status.stop_reason.startswith("diverged: training diverged: |q/")
    assert "exceeds the bound" in status.stop_reason and str(healthy) in status.stop_reason
    assert not status.training and status.steps_allowed == 2**64 - 1   # nobody waits
    assert graph.spin_until(lambda: "training diverged" in agent.log_text(Log.ERROR))
    graph.spin_until(lambda: False, timeout=1.5)    # longer than weights_period_s
    for w in agent.weights:
        assert all(torch.isfinite(t).all()
                   for t in safetensors.torch.load(bytes(w.data)).values())
    assert core.weights_payload() is None and core.train() == 0
    remove(graph, learner)
    # the artifact is the last healthy actor; that checkpoint is kept, nothing newer written
    assert checkpoints(run)[-1] == healthy
    good = TD3Agent(core.config)
    load_checkpoint(healthy, good)
    assert (run / "policy.safetensors").read_bytes() == actor_payload(good, deployed=True)[1]
    results = json.loads((run / "results.json").read_text())
    assert results["diverged"] and results["last_checkpoint"] == str(healthy)


def test_status_counters_beyond_the_wire_saturate_instead_of_killing_the_timer(graph,
                                                                               tmp_path):
    learner = make_learner(graph, tmp_path / "run")
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    learner.learner.counts["steps_dropped"] = 2**70    # e.g. gaps summed over many agents
    assert graph.spin_until(lambda: agent.status[-1].steps_dropped == 2**64 - 1)


def test_the_cli_prints_why_training_stopped_and_exits_non_zero(graph, tmp_path, monkeypatch,
                                                                capsys):
    from td3_driving.apps import cli

    class FakeStack:   # the nodes: only the learner's status matters here
        def __init__(self, groups, **kwargs):
            pass

        def start(self):
            pass

        def wait(self, duration, poll=None):
            return "budget reached" if graph.spin_until(poll, timeout=20.0) else "timeout"

        def stop(self, **kwargs):   # hurry=... since the CLI's supervision
            return {}

        def cpu_seconds(self):   # no processes, no CPU to report
            return {}

    monkeypatch.setattr(cli, "Stack", FakeStack)
    probe = graph.node("learner_probe")
    pub = probe.create_publisher(LearnerStatus, LEARNER_STATUS_TOPIC, qos.STATS)
    reason = "diverged: training diverged: |q/q1_max| = 1e9 exceeds the bound 1540"
    probe.create_timer(0.05, lambda: pub.publish(LearnerStatus(stop_reason=reason)))
    code = cli.main(["train", "--run_dir", str(tmp_path / "run"), "--progress_every", "30"])
    assert code != 0
    assert f"learner stopped training: {reason}" in capsys.readouterr().err
