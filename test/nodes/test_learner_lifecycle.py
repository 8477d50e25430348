"""The learner node's life: checkpoint on close, resume, divergence, diagnostics, Ctrl-C."""

import json
import math
import os
import signal
import subprocess
import sys

import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

import safetensors.torch  # noqa: E402
import torch  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from support.learner import TINY  # noqa: E402
from support.learner_node import FakeAgent, make_learner, remove  # noqa: E402

from td3_driving.core.diagnostics import DivergenceError  # noqa: E402
from td3_driving.core.policy import Policy  # noqa: E402
from td3_driving.ros import qos  # noqa: E402

pytestmark = pytest.mark.ros


def feed(graph, agent, until, timeout=30.0):
    def step():
        agent.send_if_allowed(16)
        return until()
    assert graph.spin_until(step, timeout=timeout)


def test_close_checkpoints_and_a_resumed_learner_continues_the_counters(graph, tmp_path):
    run = tmp_path / "run"
    first = make_learner(graph, run)
    agent = FakeAgent(graph)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: agent.weights and agent.status[-1].learner_step >= 30)
    remove(graph, first)
    updates = first.learner.updates
    version = first.learner.weights_version
    checkpoints = sorted((run / "checkpoints").glob("ckpt_*.pt"))
    assert [p.name for p in checkpoints] == [f"ckpt_{updates:012d}.pt"]
    results = json.loads((run / "results.json").read_text())
    assert results["updates"] == updates and results["stop_reason"] == "shutdown"
    Policy.load(run / "policy.safetensors")

    agent.status.clear()
    agent.weights.clear()
    second = make_learner(graph, run, resume=True)
    # the resumed actor is published at once, with the next version
    assert graph.spin_until(lambda: agent.weights and agent.status)
    assert agent.weights[0].version == version + 1
    assert agent.weights[0].learner_step == updates
    assert agent.status[-1].learner_step == updates
    steps = agent.status[-1].steps_received
    assert steps == first.learner.counts["steps_received"]
    # no buffer was saved: a new warm-up of learning_starts, then the counter continues
    feed(graph, agent, lambda: agent.status[-1].learner_step > updates + 10
         and agent.weights[-1].version > version + 1)
    assert agent.status[-1].steps_received > steps + TINY["td3.learning_starts"]
    assert agent.weights[-1].learner_step > updates
    assert second.learner.resumed_from == str(checkpoints[-1])


def test_divergence_stops_training_and_never_publishes_the_bad_weights(graph, tmp_path):
    run = tmp_path / "run"
    learner = make_learner(graph, run)
    core = learner.learner
    good_update = core.agent.update
    diverged_at = []

    def update_that_diverges(batch, fill=None):
        if core.weights_version == 0:              # diverge once version 1 is out
            return good_update(batch, fill)
        with torch.no_grad():                      # what a blown-up step leaves behind
            for p in core.agent.actor.parameters():
                p.fill_(math.nan)
        core.agent.iteration += 1
        diverged_at.append(core.agent.iteration)
        raise DivergenceError("training diverged: non-finite values in losses/actor")

    core.agent.update = update_that_diverges
    agent = FakeAgent(graph)
    diagnostics = []
    agent.node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append,
                                   qos.STATS)
    assert graph.spin_until(agent.connected)
    feed(graph, agent, lambda: core.diverged is not None)
    assert graph.spin_until(lambda: agent.status[-1].learner_step == diverged_at[0]
                            and not agent.status[-1].training)
    # agents are told why and no longer held back (they would wait forever otherwise)
    status = agent.status[-1]
    assert status.stop_reason.startswith("diverged: training diverged: non-finite")
    assert "last healthy checkpoint: none" in status.stop_reason
    assert status.steps_allowed == 2**64 - 1
    # longer than weights_period_s: no updates, no weights
    graph.spin_until(lambda: agent.send_if_allowed(16) and False, timeout=1.5)

    assert diverged_at == [core.updates] and core.train() == 0
    assert [w.version for w in agent.weights] == [1]
    for w in agent.weights:
        assert all(torch.isfinite(t).all()
                   for t in safetensors.torch.load(bytes(w.data)).values())
    assert "training diverged" in agent.log_text(Log.ERROR)
    errors = [s for d in diagnostics for s in d.status if s.level == DiagnosticStatus.ERROR]
    assert errors and "non-finite" in errors[-1].message
    results = json.loads((run / "results.json").read_text())
    assert results["diverged"] and "non-finite" in results["stop_reason"]
    remove(graph, learner)
    assert not list((run / "checkpoints").glob("ckpt_*.pt"))   # nothing good to keep
    assert not (run / "policy.safetensors").exists()


def test_diagnostics_carry_the_core_metrics(graph, tmp_path):
    make_learner(graph, tmp_path / "run")
    agent = FakeAgent(graph)
    diagnostics = []
    agent.node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append,
                                   qos.STATS)
    assert graph.spin_until(agent.connected)

    def report_with_actor():
        # a period may hold only critic updates (the actor updates every policy_delay)
        return any("losses/actor" in {kv.key for kv in s.values}
                   for d in diagnostics for s in d.status)
    feed(graph, agent, report_with_actor)
    status = [s for d in diagnostics for s in d.status
              if "losses/actor" in {kv.key for kv in s.values}][-1]
    values = {kv.key: kv.value for kv in status.values}
    for key in ("losses/critic", "losses/actor", "q/q1_mean", "grad/critic_mlp_pre",
                "grad/critic_mlp_post", "update_to_data", "buffer_size", "steps_dropped"):
        assert key in values, key
    assert status.level == DiagnosticStatus.OK and status.message == "training"
    assert math.isfinite(float(values["losses/critic"]))


def test_the_executable_stops_cleanly_on_ctrl_c_with_checkpoint_and_results(graph, tmp_path):
    run = tmp_path / "run"
    params = {**TINY, "run_dir": str(run)}
    args = [a for k, v in params.items() for a in ("-p", f"{k}:={json.dumps(v)}")]
    agent = FakeAgent(graph)                       # same ROS_DOMAIN_ID as the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "td3_driving.nodes.learner", "--ros-args", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    try:
        assert graph.spin_until(agent.connected, timeout=60.0)   # spinning, timers running
        feed(graph, agent, lambda: agent.weights)  # trains under MultiThreadedExecutor
        assert graph.spin_until(lambda: agent.status[-1].steps_received == agent.sent)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "never retrieved" not in out, out
    results = json.loads((run / "results.json").read_text())
    assert results["stop_reason"] == "shutdown" and results["updates"] > 0
    assert results["steps_received"] == agent.sent
    updates = results["updates"]
    assert (run / "checkpoints" / f"ckpt_{updates:012d}.pt").is_file()
    Policy.load(run / "policy.safetensors")
