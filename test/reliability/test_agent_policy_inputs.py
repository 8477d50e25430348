"""The agent node under bad input from the learner and the user: weights, policy files,
a learner that dies while it holds the agent back, a replay publish that fails.

Every case: a clear error, the agent keeps acting with the policy it had (or stops at
start with one line, for a policy file it cannot use), nothing is lost silently.
"""

import array
import hashlib
import json
import math
import os
import subprocess
import sys

import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

import safetensors.torch  # noqa: E402
import torch  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from support.fake_bridge import start, step  # noqa: E402

from td3_driving.bringup import stack  # noqa: E402
from td3_driving.bringup.launcher import executable_path  # noqa: E402
from td3_driving.core.config import LearnerConfig, NetworkConfig, ObservationConfig  # noqa: E402
from td3_driving.core.policy import actor_payload, export_policy  # noqa: E402
from td3_driving.core.td3 import TD3Agent  # noqa: E402
from td3_driving.msg import LearnerStatus, PolicyWeights  # noqa: E402

pytestmark = pytest.mark.ros


def _weights(agent, version, network=None, nan=False):
    """PolicyWeights for the agent's observation (or another network), hash matching."""
    obs = agent.weights_gate.expected_observation
    net = network or NetworkConfig(conv_channels=(4,), conv_kernels=(3,), conv_strides=(2,),
                                   feature_dim=16, hidden_sizes=(16,), channels_last=False)
    td3 = TD3Agent(LearnerConfig(observation=obs, network=net))
    if nan:
        with torch.no_grad():
            next(td3.actor.parameters()).fill_(float("nan"))
    arch, data = actor_payload(td3)
    msg = PolicyWeights(version=version, architecture=arch, format="safetensors",
                        sha256=hashlib.sha256(data).hexdigest())
    msg.data = array.array("B", data)
    return msg


def _unbuildable(agent, version):
    """Weights whose architecture asks for a conv kernel larger than the image."""
    msg = _weights(agent, version)
    arch = json.loads(msg.architecture)
    arch["network"]["conv_kernels"] = [40]
    msg.architecture = json.dumps(arch, sort_keys=True, separators=(",", ":"))
    tensors = safetensors.torch.load(bytes(msg.data))
    data = safetensors.torch.save(tensors, metadata={"architecture": msg.architecture})
    msg.data = array.array("B", data)
    msg.sha256 = hashlib.sha256(data).hexdigest()
    return msg


def _other_observation(msg, agent):
    arch = json.loads(msg.architecture)
    arch["observation"]["height"] = 32
    msg.architecture = json.dumps(arch)
    return msg


def test_bad_weights_are_refused_and_the_actor_is_untouched(graph):
    agent, bridge = start(graph)
    good = _weights(agent, 3)
    bad_hash = _weights(agent, 10)
    bad_hash.sha256 = "0" * 64
    flipped = _weights(agent, 11)
    flipped.data[100] ^= 0xFF                      # hash of the original bytes: mismatch
    other_arch = _other_observation(_weights(agent, 12), agent)
    other_arch.sha256 = hashlib.sha256(bytes(other_arch.data)).hexdigest()
    wrong_format = _weights(agent, 13)
    wrong_format.format = "torch.pickle"
    not_weights = _weights(agent, 14)
    not_weights.data = array.array("B", b"\x80\x04K\x01." * 10)   # a pickle, not safetensors
    not_weights.sha256 = hashlib.sha256(bytes(not_weights.data)).hexdigest()
    cases = [(bad_hash, "sha256 mismatch"), (flipped, "sha256 mismatch"),
             (other_arch, "architecture.observation differs"),
             (wrong_format, "format is 'torch.pickle', expected 'safetensors'"),
             (not_weights, "not a safetensors policy payload")]
    for msg, expected in cases:
        bridge.weights_pub.publish(msg)
        assert graph.spin_until(lambda e=expected: e in bridge.log_text(Log.ERROR)), expected
        assert agent.loop.policy is None and agent.loop.policy_version == 0
        step(graph, bridge)
    assert f"/td3/policy_weights: refused weights version {other_arch.version}" in \
        bridge.log_text(Log.ERROR)
    bridge.weights_pub.publish(good)
    assert graph.spin_until(lambda: agent.loop.policy_version == 3)
    step(graph, bridge)
    acting = agent.loop.policy
    nan = _weights(agent, 20, nan=True)
    unbuildable = _unbuildable(agent, 21)       # a conv kernel larger than the 16x16 image
    too_new = _weights(agent, 2**32)                    # experience carries uint32 versions
    for msg, expected in [(nan, "has NaN or Inf values"),
                          (unbuildable, f"refused weights version {unbuildable.version}"),
                          (too_new, "does not fit the experience message's uint32")]:
        bridge.weights_pub.publish(msg)
        assert graph.spin_until(lambda e=expected: e in bridge.log_text(Log.ERROR)), \
            bridge.log_text(Log.ERROR)
        assert agent.loop.policy is acting and agent.loop.policy_version == 3
        step(graph, bridge)                        # still acting, with the previous policy
    assert agent.refusals.counts[stack.WEIGHTS_TOPIC] >= 8
    # a restarted learner resumed from an older checkpoint: lower version, followed
    restarted = _weights(agent, 2)
    bridge.weights_pub.publish(restarted)
    assert graph.spin_until(lambda: agent.loop.policy_version == 2)
    assert graph.spin_until(lambda: "version went back from 3 to 2" in
                            bridge.log_text(Log.WARN))
    step(graph, bridge)
    assert all(math.isfinite(c.steer) for c in bridge.controls)


def test_a_learner_that_dies_while_holding_the_agent_back_does_not_stall_it(graph):
    # no replay subscriber: the learner is gone
    agent, bridge = start(graph, bridge_kwargs={"replay_subscriber": False},
                          learner_timeout_s=0.5)
    step(graph, bridge)                            # the reset teleport
    step(graph, bridge)                            # the episode's first frame
    # the learner's last word: no budget left (steps_allowed == steps_received)
    bridge.learner_status_pub.publish(LearnerStatus(steps_received=100, steps_allowed=100))
    assert graph.spin_until(lambda: agent.loop.learner_budget is not None)
    n = len(bridge.controls)
    bridge.tick()
    assert graph.spin_until(lambda: agent.loop.held_frame is not None)
    assert graph.spin_until(lambda: bridge.sim_control and
                            bridge.sim_control[-1].command == 1)   # PAUSE
    # ... and then it died: the held frame is released, the simulator resumed
    assert graph.spin_until(lambda: len(bridge.controls) > n, timeout=15.0)
    assert graph.spin_until(lambda: bridge.sim_control[-1].command == 0)   # PLAY
    assert graph.spin_until(lambda: "learner gone?" in bridge.log_text(Log.WARN))
    for _ in range(8):
        step(graph, bridge)                        # keeps driving
    # experience meanwhile is counted as dropped, never silently lost
    assert graph.spin_until(lambda: agent.loop.dropped_steps >= 8)
    assert agent.loop.dropped_steps == agent.loop.recorder.sequence - agent.loop.recorder.pending()
    assert graph.spin_until(lambda: "steps dropped so far" in bridge.log_text(Log.WARN))


def refused_at_start(mode: str, policy_file) -> str:
    """The agent executable's output when it stops at start: exit code 2, no traceback."""
    proc = subprocess.run(
        [executable_path("agent"), "--ros-args", "-p", f"mode:={mode}",
         "-p", f"policy_file:={policy_file}"], capture_output=True, text=True, timeout=120,
        env=dict(os.environ))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out, out
    return out


@pytest.mark.parametrize("content, expected", [
    (b"not a policy at all, just text\n", "not a safetensors policy payload"),
    (None, "cannot read policy file"),
])
def test_a_bad_policy_file_stops_the_agent_with_one_clear_line(tmp_path, content, expected):
    path = tmp_path / "policy.safetensors"
    if content is not None:
        path.write_bytes(content)
    out = refused_at_start("drive", path)
    assert "policy error:" in out and str(path) in out and expected in out, out


def test_start_weights_from_another_observation_config_stop_a_training_agent(tmp_path):
    # A policy trained on 2 stacked 48x48 frames, offered as start weights to an agent (and
    # so a learner) configured for the default 4 x 84x84.
    obs = ObservationConfig(stack=2, height=48, width=48, vector_size=8,
                            vector_scale=(1.0,) * 8)
    agent = TD3Agent(LearnerConfig(observation=obs, network=NetworkConfig(
        conv_channels=(8, 8, 8), feature_dim=16, hidden_sizes=(16,)), device="cpu"))
    path = tmp_path / "other.safetensors"
    export_policy(agent, path)
    out = refused_at_start("train", path)
    assert "trained with another observation config" in out and "stack: 2" in out, out


def test_the_agent_executable_runs_as_a_python_module():
    # the subprocess tests above need the installed executable of this interpreter
    assert sys.executable and os.path.exists(executable_path("agent"))


def test_a_replay_publish_that_fails_is_counted_as_dropped_and_the_agent_drives_on(graph):
    agent, bridge = start(graph)
    failures = []

    def full_writer(msg):
        failures.append(len(msg.sequence))
        raise RuntimeError("failed to publish: the writer's history is full")
    agent.out.replay_pub.publish = full_writer
    for _ in range(3 * agent.loop.cfg.batch_steps):
        step(graph, bridge)                  # every tick still answered with one command
    assert failures and agent.loop.dropped_steps == sum(failures)
    assert graph.spin_until(lambda: "could not publish" in bridge.log_text(Log.WARN))
    assert not bridge.batches
