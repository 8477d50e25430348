"""The learner under bad experience, a full or read-only run directory, restarts, and a
reward blow-up."""

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

from td3_driving.core import files as files_module  # noqa: E402  (atomic_write opens here)
from td3_driving.core.checkpoint import load_checkpoint  # noqa: E402
from td3_driving.core.td3 import TD3Agent  # noqa: E402
from td3_driving.ros.experience_msg import step_batch_to_msg  # noqa: E402

pytestmark = pytest.mark.ros


def feed(graph, agent, until, timeout=30.0, **batch):
    def step():
        if agent.status and agent.sent + 16 <= agent.status[-1].steps_allowed:
            agent.send(16, **batch)
        return until()
    assert graph.spin_until(step, timeout=timeout)


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


def _disk_fault(err):
    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(err, f"[fault injection] {errno.errorcode[err]}", str(path))
        return open(path, mode, *args, **kwargs)
    return failing_open


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_a_checkpoint_that_cannot_be_written_is_an_error_and_training_goes_on(
        graph, tmp_path, monkeypatch, err):
    run = tmp_path / "run"
    learner = make_learner(graph, run, checkpoint_period_updates=20)
    core = learner.learner
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: list((run / "checkpoints").glob("ckpt_*.pt")))
    good = sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1]
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
    feed(graph, agent, lambda: sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1] != good)
    load_checkpoint(good, TD3Agent(core.config))


def test_a_run_dir_that_fails_at_shutdown_keeps_the_previous_checkpoint(
        graph, tmp_path, monkeypatch, capfd):
    run = tmp_path / "run"
    learner = make_learner(graph, run, checkpoint_period_updates=20)
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: list((run / "checkpoints").glob("ckpt_*.pt")))
    good = sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1]
    monkeypatch.setattr(files_module, "open", _disk_fault(errno.ENOSPC), raising=False)
    capfd.readouterr()
    remove(graph, learner)                                     # close() must not raise
    err = capfd.readouterr().err
    assert "final cannot write checkpoint" in err and "ENOSPC" in err, err
    assert sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1] == good
    results = json.loads((run / "results.json").read_text())
    assert results["stop_reason"] == "shutdown (final checkpoint failed)"


def test_resume_skips_a_damaged_newest_checkpoint_and_temp_files(graph, tmp_path):
    run = tmp_path / "run"
    first = make_learner(graph, run, checkpoint_period_updates=20, keep_checkpoints=5)
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: len(list((run / "checkpoints").glob("ckpt_*.pt"))) >= 2)
    remove(graph, first)
    ckpts = sorted((run / "checkpoints").glob("ckpt_*.pt"))
    newest, previous = ckpts[-1], ckpts[-2]
    # a crash mid-write leaves only a temp name; damage the newest complete one too
    (run / "checkpoints" / f".ckpt_{99**5:012d}.pt.tmp4242").write_bytes(b"PK\x03\x04half")
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
    stored = torch.load(previous, weights_only=True)["agent"]["iteration"]
    second = make_learner(graph, run, resume=True)
    assert second.learner.updates == int(stored)
    assert second.learner.resumed_from == str(previous)


def test_steps_sent_while_the_learner_was_down_are_counted_as_lost(graph, tmp_path):
    run = tmp_path / "run"
    first = make_learner(graph, run, checkpoint_period_updates=20)
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: list((run / "checkpoints").glob("ckpt_*.pt")))
    # the learner is killed: no final checkpoint (close() never runs)
    ckpt = sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1]
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


def test_a_reward_blow_up_trips_the_watchdog_before_bad_weights_go_out(graph, tmp_path):
    run = tmp_path / "run"
    learner = make_learner(graph, run)    # watchdog.reward_abs_max: 1 (the default)
    core = learner.learner
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: agent.weights)
    # the reward function blows up: finite, but far beyond any configured bound
    feed(graph, agent, lambda: core.diverged is not None, timeout=60.0, reward=1e30)
    assert "exceeds the bound" in core.diverged or "non-finite" in core.diverged
    graph.spin_until(lambda: False, timeout=1.5)    # longer than weights_period_s
    assert agent.weights
    for w in agent.weights:
        assert all(torch.isfinite(t).all()
                   for t in safetensors.torch.load(bytes(w.data)).values())
    assert core.weights_payload() is None and core.train() == 0
    assert graph.spin_until(lambda: "training diverged" in agent.log_text(Log.ERROR))
