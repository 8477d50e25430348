"""The learner node through its topics: reception, drops, UTD backpressure, weights."""

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

import safetensors.torch  # noqa: E402
import torch  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from support.learner_node import FakeAgent, make_learner  # noqa: E402

from td3_driving.bringup.stack import EPISODE_STATS_TOPIC, WEIGHTS_TOPIC  # noqa: E402
from td3_driving.core.policy import Policy, architecture_json  # noqa: E402
from td3_driving.msg import EpisodeStats, PolicyWeights  # noqa: E402
from td3_driving.ros import qos  # noqa: E402
from td3_driving.ros.experience_msg import step_batch_to_msg  # noqa: E402

pytestmark = pytest.mark.ros


def test_batches_on_the_topic_reach_the_buffer_as_rebuilt_stacks(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run", **{"td3.update_to_data": 0.0})
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    for _ in range(3):
        agent.send(16)
    assert graph.spin_until(lambda: learner.learner.counts["steps_received"] == 48)
    batch = learner.learner.buffer.sample(256, np.random.default_rng(0))
    # every pixel of a frame holds its sequence number; episodes are 20 steps long
    obs = batch["image"][:, :, 0, 0].numpy().astype(int)
    nxt = batch["next_image"][:, :, 0, 0].numpy().astype(int)
    assert obs.shape == (256, 2)
    assert np.array_equal(nxt[:, 0], obs[:, 1]) and np.array_equal(nxt[:, 1], obs[:, 1] + 1)
    first = obs[:, 0] == obs[:, 1]                 # the stack of an episode's first step
    assert np.all(obs[first, 1] % 20 == 0)
    assert np.array_equal(obs[~first, 1], obs[~first, 0] + 1)
    assert np.all(obs[:, 0] // 20 == obs[:, 1] // 20)   # never across an episode boundary
    assert np.all(nxt[:, 1] // 20 == obs[:, 1] // 20)
    assert np.all(nxt[:, 1] % 20 != 0)


def test_malformed_batches_and_gaps_are_dropped_counted_and_logged(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run", **{"td3.update_to_data": 0.0})
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    agent.send(10)
    bad = step_batch_to_msg(agent.producer.batch(8))
    bad.frames.pop()                               # one byte short
    agent.pub.publish(bad)
    wrong = agent.producer.batch(6)
    wrong.frames = np.zeros((6, 1, 8, 8), np.uint8)   # consistent, but not 16x16
    agent.pub.publish(step_batch_to_msg(wrong))
    agent.send(4)                                  # after 14 unusable steps: a gap of 14
    # the 14 refused steps count once, not again as the gap they leave
    assert graph.spin_until(lambda: any(s.steps_received == 14 and s.steps_dropped == 14
                                        for s in agent.status))
    assert graph.spin_until(lambda: "gap" in agent.log_text(Log.WARN))
    counts = learner.learner.counts
    assert (counts["batches_dropped"], counts["gaps"], counts["missing_steps"]) == (2, 1, 14)
    assert learner.learner.buffer.total == 14
    errors = agent.log_text(Log.ERROR)
    assert "/td3/replay" in errors and "'hero0'" in errors
    assert "field 'frames' has" in errors          # the message's own sizes disagree
    assert "frames has shape (6, 1, 8, 8), expected (6, 1, 16, 16)" in errors
    assert "14 step(s)" in agent.log_text(Log.WARN)


def test_fast_producer_is_held_to_the_update_to_data_ratio(graph, tmp_path):
    ratio, starts, slack, batch = 0.5, 40, 32, 16
    make_learner(graph, tmp_path / "run", **{"td3.update_to_data": ratio})
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)

    def produce():
        agent.send_if_allowed(batch)
        return agent.sent >= 700

    assert graph.spin_until(produce, timeout=90.0)
    assert graph.spin_until(lambda: agent.status[-1].steps_received == agent.sent)
    assert agent.held_back > 0                     # backpressure actually engaged
    # data runs at most slack + one batch ahead of the updates: within 10 % once ten times
    # that much has arrived after the warm-up
    settled = [s for s in agent.status if s.steps_received - starts >= 10 * (slack + batch)]
    assert len(settled) >= 3
    for s in settled:
        assert s.training
        assert s.update_to_data == pytest.approx(ratio, rel=0.10), s
        assert s.learner_step == pytest.approx(ratio * (s.steps_received - starts), rel=0.10)
    for s in agent.status:
        assert s.steps_received <= s.steps_allowed


def test_weights_versions_increase_verify_and_load_as_a_policy(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run")
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)

    def produce_until(version):
        def step():
            agent.send_if_allowed(16)
            return any(w.version >= version for w in agent.weights)
        return step

    assert graph.spin_until(produce_until(2), timeout=30.0)
    versions = [w.version for w in agent.weights]
    assert versions[0] == 1 and versions == sorted(set(versions))
    config = learner.config
    expected_arch = architecture_json(config.observation, config.network, config.action_size,
                                      config.action)
    for w in agent.weights:
        data = bytes(w.data)
        assert w.format == "safetensors" and w.architecture == expected_arch
        assert hashlib.sha256(data).hexdigest() == w.sha256
        assert all(torch.isfinite(t).all() for t in safetensors.torch.load(data).values())
    latest = agent.weights[-1]
    assert latest.learner_step > agent.weights[0].learner_step
    policy = Policy.from_payload(latest.architecture, bytes(latest.data))
    obs = {"image": np.zeros((2, 16, 16), np.uint8), "vector": np.zeros(3, np.float32)}
    assert np.all(np.abs(policy.act(obs)) <= 1.0)
    # a late joiner gets the newest version at once (reliable, transient local, depth 1)
    late: list[PolicyWeights] = []
    graph.node("late_agent").create_subscription(PolicyWeights, WEIGHTS_TOPIC, late.append,
                                                 qos.WEIGHTS)
    assert graph.spin_until(lambda: bool(late))
    assert late[0].version >= latest.version


def test_episode_statistics_reach_the_results(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run", **{"td3.update_to_data": 0.0})
    probe = graph.node("episode_probe")
    pub = probe.create_publisher(EpisodeStats, EPISODE_STATS_TOPIC, qos.STATS)
    assert graph.spin_until(lambda: pub.get_subscription_count() > 0)
    for i in range(12):
        pub.publish(EpisodeStats(agent_id="hero0", episode_id=i, episode_return=float(i),
                                 length=20, native_score=float("nan")))
    assert graph.spin_until(lambda: learner.learner.episodes.count == 12)
    learner.close()
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["episodes"] == 12
    assert results["mean_return_last10"] == pytest.approx(sum(range(2, 12)) / 10)
    assert results["mean_native_score_last10"] is None


def test_status_reports_the_weights_version_lag_of_received_steps(graph, tmp_path):
    learner = make_learner(graph, tmp_path / "run")
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    assert np.isnan(agent.status[-1].policy_lag_median)      # nothing received yet

    def produce():   # an agent that never adopts the weights: acts with version 0
        agent.send_if_allowed(16)
        return any(w.version >= 3 for w in agent.weights)

    assert graph.spin_until(produce, timeout=60.0)

    def stale_steps():   # received while the newest version is >= 3: lag >= 3 each
        agent.send(16)
        return agent.status[-1].policy_lag_p95 >= 3
    assert graph.spin_until(stale_steps, timeout=60.0)
    status = agent.status[-1]
    assert 0 <= status.policy_lag_median <= status.policy_lag_p95
    assert status.policy_lag_p95 <= learner.learner.weights_version


def test_a_learner_given_a_reward_that_prefers_the_time_limit_refuses_to_start(graph, tmp_path):
    from td3_driving.core.config_base import ConfigError
    with pytest.raises(ConfigError, match="route_complete_bonus >= 100"):
        make_learner(graph, tmp_path / "run", **{"reward.route_complete_bonus": 5.0})
    assert not (tmp_path / "run" / "checkpoints").exists()
