"""The agent node under bad input from the bridge, the learner and the user.

Every case: a clear error naming the topic and field, the node keeps running (one control
command per frame, also for a frame it cannot use), nothing corrupt enters the experience
it sends or the actor it acts with.
"""

import array
import hashlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

import torch  # noqa: E402
from carla_msgs.msg import CarlaStatus  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from support.fake_bridge import NS, FakeBridge, circle, make_agent  # noqa: E402

from td3_driving.bringup import stack  # noqa: E402
from td3_driving.bringup.launcher import executable_path  # noqa: E402
from td3_driving.core.config import LearnerConfig, NetworkConfig  # noqa: E402
from td3_driving.core.policy import actor_payload  # noqa: E402
from td3_driving.core.td3 import TD3Agent  # noqa: E402
from td3_driving.msg import EpisodeStats, LearnerStatus, PolicyWeights  # noqa: E402
from td3_driving.nodes import agent as agent_node  # noqa: E402
from td3_driving.ros.sim_messages import sim_stamp  # noqa: E402

pytestmark = pytest.mark.ros


def start(graph, bridge_kwargs=None, **agent_params):
    agent = make_agent(graph, **agent_params)
    bridge = FakeBridge(graph, **(bridge_kwargs or {}))
    assert graph.spin_until(bridge.connected)
    bridge.route(circle())
    assert graph.spin_until(lambda: agent.loop.task.route is not None)
    return agent, bridge


def step(graph, bridge, **bad):
    """One tick; returns once the agent answered it with one command."""
    n = len(bridge.controls)
    bridge.tick(**bad)
    assert graph.spin_until(lambda: len(bridge.controls) == n + 1), "no command for the frame"


def _set(**fields):
    def change(msg):
        for name, value in fields.items():
            target = msg
            *path, last = name.split(".")
            for part in path:
                target = getattr(target, part)
            setattr(target, last, value)
        return msg
    return change


def _truncate(msg):
    msg.data = bytes(msg.data)[:-100]
    return msg


BAD_FRAMES = {
    "image encoding": ({"image": _set(encoding="rgb16")},
                       f"{NS}/rgb_front/image: encoding 'rgb16' is not supported"),
    "image width > step": ({"image": _set(width=30)},
                           f"{NS}/rgb_front/image: step=96 is smaller than width*channels"),
    "image height vs data": ({"image": _set(height=30)},
                             f"{NS}/rgb_front/image: data has 2304 bytes, expected "
                             "step*height=2880"),
    "image step vs data": ({"image": _set(step=100)},
                           f"{NS}/rgb_front/image: data has 2304 bytes, expected "
                           "step*height=2400"),
    "image truncated data": ({"image": _truncate},
                             f"{NS}/rgb_front/image: data has 2204 bytes"),
    "image zero size": ({"image": _set(height=0)},
                        f"{NS}/rgb_front/image: height=0 and width=24 must be positive"),
    "odometry NaN position": ({"odometry": _set(**{"pose.pose.position.x": math.nan})},
                              f"{NS}/odometry: pose.pose.position.x is not finite"),
    "odometry Inf speed": ({"odometry": _set(**{"twist.twist.linear.x": math.inf})},
                           f"{NS}/odometry: twist.twist.linear.x is not finite"),
    "odometry zero quaternion": ({"odometry": _set(**{f"pose.pose.orientation.{c}": 0.0
                                                      for c in "xyzw"})},
                                 f"{NS}/odometry: pose.pose.orientation is a zero quaternion"),
    "status NaN throttle": ({"status": _set(**{"control.throttle": math.nan})},
                            f"{NS}/vehicle_status: control.throttle is not finite"),
    "status Inf steer": ({"status": _set(**{"control.steer": -math.inf})},
                         f"{NS}/vehicle_status: control.steer is not finite"),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMES))
def test_a_bad_frame_is_skipped_with_an_error_naming_topic_and_field(graph, case):
    bad, expected = BAD_FRAMES[case]
    agent, bridge = start(graph)
    for _ in range(3):
        step(graph, bridge)
    held = bridge.controls[-1]
    step(graph, bridge, **bad)                     # still answered: the lockstep goes on
    ctrl = bridge.controls[-1]
    assert (ctrl.steer, ctrl.throttle, ctrl.brake) == (held.steer, held.throttle, held.brake)
    assert graph.spin_until(lambda: expected in bridge.log_text(Log.ERROR)), \
        bridge.log_text(Log.ERROR)
    for _ in range(7):    # the first good frame is the reset teleport's
        step(graph, bridge)
    assert graph.spin_until(lambda: len(bridge.steps()) >= 8)
    steps = bridge.steps()
    # good frames: the teleport, the first observation, the steps; the bad one left no
    # trace, and the sequence stays gap-free (the learner would count a gap as lost data)
    assert [s[0] for s in steps] == list(range(len(steps)))
    assert [s[2] for s in steps] == list(range(len(steps)))
    for b in bridge.batches:
        assert np.isfinite(np.frombuffer(b.vectors, np.float32)).all()
        assert np.isfinite(np.frombuffer(b.rewards, np.float32)).all()
    assert agent.loop.phase == "running"


def test_out_of_order_and_duplicate_stamps_are_ignored_and_reported(graph):
    agent, bridge = start(graph)
    for _ in range(3):
        step(graph, bridge)
    t_last = bridge.t
    # a whole frame from the past (out of order) completes nothing: no command, no step
    n = len(bridge.controls)
    bridge.tick(t=t_last - 0.08)
    graph.spin_until(lambda: agent.sync.counters.stale >= 3)
    assert agent.sync.counters.stale == 3 and len(bridge.controls) == n
    bridge.t = t_last
    # the same image twice for the next stamp: counted as a duplicate, one frame completes
    stamp_t = t_last + 0.08
    bridge.image_pub.publish(bridge.image(sim_stamp(stamp_t)))
    step(graph, bridge, t=stamp_t)
    # a duplicate of the pending stamp, or stale if the frame completed before it arrived
    counters = agent.sync.counters
    assert graph.spin_until(lambda: counters.stale + counters.duplicate == 4)
    assert graph.spin_until(lambda: "out of order or duplicated" in bridge.log_text(Log.WARN))
    warn = bridge.log_text(Log.WARN)
    assert f"{NS}/" in warn and "stale" in warn
    for _ in range(7):    # the first good frame is the reset teleport's
        step(graph, bridge)
    assert graph.spin_until(lambda: len(bridge.steps()) >= 8)
    assert [s[0] for s in bridge.steps()] == list(range(len(bridge.steps())))


@pytest.mark.parametrize("points, field", [
    ([], "the path has 0 poses"),
    ([(1.0, 2.0)], "the path has 1 poses"),
    ([(0.0, 0.0), (math.nan, 1.0), (2.0, 2.0)], "poses[].pose.position has NaN or Inf"),
])
def test_unusable_waypoints_keep_the_previous_route(graph, points, field):
    agent, bridge = start(graph)
    route = agent.loop.task.route
    step(graph, bridge)
    bridge.route(points)
    assert graph.spin_until(lambda: field in bridge.log_text(Log.ERROR))
    error = bridge.log_text(Log.ERROR)
    assert f"{NS}/waypoints" in error and "keeping the previous one" in error
    assert agent.loop.task.route is route
    for _ in range(3):
        step(graph, bridge)                        # driving on along the previous route
    assert agent.loop.phase == "running"


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
    import json

    import safetensors.torch
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
    import json
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


def test_a_frame_stamped_in_the_past_is_no_restart_but_a_status_frame_going_back_is(graph):
    agent, bridge = start(graph)
    bridge.t = 30.0
    for _ in range(5):
        step(graph, bridge)
    bridge.carla_status_pub.publish(CarlaStatus(frame=400, fixed_delta_seconds=0.08))
    assert graph.spin_until(lambda: agent.sync.sim_frame == 400)
    # a stray frame from the past: ignored and counted, the episode goes on
    n, t_last = len(bridge.controls), bridge.t
    bridge.tick(t=0.08)
    assert graph.spin_until(lambda: agent.sync.counters.stale >= 3)
    assert len(bridge.controls) == n and not bridge.episodes
    bridge.t = t_last
    step(graph, bridge)
    assert agent.loop.phase == "running" and not bridge.episodes
    # the simulator restarts: its frame counter starts again, then its clock
    bridge.carla_status_pub.publish(CarlaStatus(frame=1, fixed_delta_seconds=0.08))
    assert graph.spin_until(lambda: any(e.termination_reason == EpisodeStats.REASON_SIM_RESET
                                        for e in bridge.episodes))
    assert graph.spin_until(lambda: "simulator restarted" in bridge.log_text(Log.WARN))
    bridge.t = 0.0
    for _ in range(6):
        step(graph, bridge)
    assert graph.spin_until(lambda: bridge.resets), "no teleport to the route start"
    assert graph.spin_until(lambda: any(s[1] == 1 for s in bridge.steps()))
    steps = bridge.steps()
    last_of_first = [s for s in steps if s[1] == 0][-1]
    assert last_of_first[3] and not last_of_first[4], "episode not marked truncated"
    assert [s[0] for s in steps] == list(range(len(steps)))   # nothing lost, no gap


def test_images_stamped_far_in_the_future_never_freeze_the_agent(graph):
    agent, bridge = start(graph)
    for _ in range(3):
        step(graph, bridge)
    for k in range(40):      # more than the pending slots (16)
        bridge.image_pub.publish(bridge.image(sim_stamp(bridge.t + 1000.0 + k)))
        assert graph.spin_until(lambda k=k: agent.sync.counters.ahead > k)
    assert graph.spin_until(lambda: "max_stamp_ahead_s" in bridge.log_text(Log.WARN))
    for _ in range(5):
        step(graph, bridge)                        # every later frame is still answered
    assert agent.loop.phase == "running"


def test_odometry_speed_beyond_float32_refuses_the_frame(graph):
    agent, bridge = start(graph)
    for _ in range(3):
        step(graph, bridge)
    step(graph, bridge, odometry=_set(**{"twist.twist.linear.x": 1e39}))
    assert graph.spin_until(lambda: f"{NS}/odometry: twist.twist.linear.x=1e+39 is beyond"
                            in bridge.log_text(Log.ERROR)), bridge.log_text(Log.ERROR)
    for _ in range(7):    # the first good frame is the reset teleport's
        step(graph, bridge)
    assert graph.spin_until(lambda: len(bridge.steps()) >= 8)
    for b in bridge.batches:
        assert np.isfinite(np.frombuffer(b.vectors, np.float32)).all()
    assert agent.loop.phase == "running"


def test_commands_carry_the_stamp_of_the_frame_they_answer(graph):
    agent, bridge = start(graph)
    for _ in range(4):
        step(graph, bridge)
        ctrl = bridge.controls[-1]
        assert (ctrl.header.stamp.sec, ctrl.header.stamp.nanosec) == \
            (sim_stamp(bridge.t).sec, sim_stamp(bridge.t).nanosec)


def test_a_publisher_whose_qos_cannot_match_is_named_until_frames_come(graph, monkeypatch):
    # the agent has no QoS-event handlers (each costs every executor turn): it looks for
    # such peers itself while it has no frame
    monkeypatch.setattr(agent_node, "PEER_CHECK_S", 0.1)
    agent = make_agent(graph)
    bridge = FakeBridge(graph)
    best_effort = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    bridge.node.create_publisher(Image, f"{NS}/rgb_front/image", best_effort)
    assert graph.spin_until(lambda: "cannot match" in bridge.log_text(Log.WARN))
    text = bridge.log_text(Log.WARN)
    assert f"{NS}/rgb_front/image: publisher /fake_bridge" in text and "RELIABILITY" in text
    assert agent._peer_check is not None
    bridge.route(circle())
    step(graph, bridge)
    assert agent._peer_check is None   # frames arrive: nothing left to look for


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


@pytest.mark.parametrize("content, expected", [
    (b"not a policy at all, just text\n", "not a safetensors policy payload"),
    (None, "cannot read policy file"),
])
def test_a_bad_policy_file_stops_the_agent_with_one_clear_line(tmp_path, content, expected):
    path = tmp_path / "policy.safetensors"
    if content is not None:
        path.write_bytes(content)
    proc = subprocess.run(
        [executable_path("agent"), "--ros-args", "-p", "mode:=drive",
         "-p", f"policy_file:={path}"], capture_output=True, text=True, timeout=120,
        env=dict(os.environ))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "policy error:" in out and str(path) in out and expected in out, out
    assert "Traceback" not in out, out


def test_start_weights_from_another_observation_config_stop_a_training_agent(tmp_path):
    # A policy trained on 2 stacked 48x48 frames, offered as start weights to an agent (and
    # so a learner) configured for the default 4 x 84x84.
    from td3_driving.core.config import LearnerConfig, NetworkConfig, ObservationConfig
    from td3_driving.core.policy import export_policy
    from td3_driving.core.td3 import TD3Agent
    obs = ObservationConfig(stack=2, height=48, width=48, vector_size=8,
                            vector_scale=(1.0,) * 8)
    agent = TD3Agent(LearnerConfig(observation=obs, network=NetworkConfig(
        conv_channels=(8, 8, 8), feature_dim=16, hidden_sizes=(16,)), device="cpu"))
    path = tmp_path / "other.safetensors"
    export_policy(agent, path)
    proc = subprocess.run(
        [executable_path("agent"), "--ros-args", "-p", "mode:=train",
         "-p", f"policy_file:={path}"], capture_output=True, text=True, timeout=120,
        env=dict(os.environ))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "trained with another observation config" in out and "stack: 2" in out, out
    assert "Traceback" not in out, out


def test_the_agent_executable_runs_as_a_python_module():
    # the subprocess test above needs the installed executable of this interpreter
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
