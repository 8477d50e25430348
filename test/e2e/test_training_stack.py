"""The training stack end to end: 2 simulators + 2 agents + learner, then resume and drive.

Real processes, started from td3_driving.bringup.stack exactly as `make train` starts them, with
tiny networks (tiny_stack.yaml) so that it fits CI.
"""

import dataclasses
import math
from pathlib import Path

import pytest
from sensor_msgs.msg import Image
from visualization_msgs.msg import Marker

from td3_driving.bringup import stack
from td3_driving.bringup.launcher import Stack
from td3_driving.core.policy import Policy
from td3_driving.msg import EpisodeStats, ExperienceBatch, LearnerStatus
from td3_driving.ros import qos

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
TINY = str(Path(__file__).with_name("tiny_stack.yaml"))


def _args(tmp_path, **kw):
    return stack.StackArgs(params_file=TINY, run_dir=str(tmp_path / "run"), **kw)


def _with_tiny_overrides(groups):
    """Load tiny_stack.yaml after the shipped params files, so that it wins."""
    out = []
    for g in groups:
        nodes = tuple(dataclasses.replace(n, params_files=tuple(
            f for f in n.params_files if f != TINY) + (TINY,)) for n in g.nodes)
        out.append(dataclasses.replace(g, nodes=nodes))
    return out


def _run(groups, condition, listener, timeout):
    nodes = Stack(_with_tiny_overrides(groups), quiet=True)
    nodes.start()
    try:
        ok = listener.wait_for(lambda: condition() or nodes.failed(), timeout)
        failed = [p.label for p in nodes.failed()]
    finally:
        codes = nodes.stop()
    assert not failed, f"nodes exited early: {failed} (codes {codes})"
    assert ok and condition(), "the stack did not get there in time"
    return codes


def test_two_agents_train_resume_and_drive(tmp_path, listener):
    listener.record(ExperienceBatch, stack.REPLAY_TOPIC, qos.REPLAY)
    listener.record(LearnerStatus, stack.LEARNER_STATUS_TOPIC, qos.STATS)
    listener.record(EpisodeStats, stack.EPISODE_STATS_TOPIC, qos.STATS)
    listener.record(Image, "/hero0/agent/observation", qos.BRIDGE)
    listener.record(Marker, "/hero1/agent/status_marker", qos.BRIDGE)
    args = dataclasses.replace(_args(tmp_path), num_agents=2)

    def versions_by_role():
        seen = {}
        for m in listener.messages(stack.REPLAY_TOPIC):
            role = m.agent_id.split(":")[0]
            seen.setdefault(role, set()).update(int(v) for v in m.policy_version)
        return seen

    def trained():
        seen = versions_by_role()
        status = listener.messages(stack.LEARNER_STATUS_TOPIC)
        return (set(seen) == {"hero0", "hero1"} and all(max(v) >= 2 for v in seen.values())
                and listener.messages(stack.EPISODE_STATS_TOPIC)
                and status and status[-1].learner_step >= 60)

    codes = _run(stack.training_stack(args), trained, listener, timeout=240)
    assert codes["learner"] == 0
    # Experience from both agents reached the learner; the weights version they act with grew.
    seen = versions_by_role()
    assert all(0 in v and max(v) >= 2 for v in seen.values()), seen
    status = listener.messages(stack.LEARNER_STATUS_TOPIC)[-1]
    assert status.steps_received > 0 and status.buffer_size > 0
    # rviz2 debug topics: the processed frame the actor sees, and its action/reward text.
    frame = listener.messages("/hero0/agent/observation")[-1]
    assert (frame.encoding, frame.height, frame.width) == ("mono8", 40, 40)
    assert "steer" in listener.messages("/hero1/agent/status_marker")[-1].text
    # An episode ended and the next one started (episode ids grow per agent).
    episodes = listener.messages(stack.EPISODE_STATS_TOPIC)
    assert any(e.termination_reason != EpisodeStats.REASON_SHUTDOWN for e in episodes)
    # Stopping left a loadable checkpoint and a policy artifact.
    run = Path(args.run_dir)
    assert list((run / "checkpoints").iterdir()), "no checkpoint written"
    policy = Policy.load(run / "policy.safetensors")
    assert policy.observation.height == 40
    learner_step = status.learner_step

    # A restarted learner resumes: its update counter continues from the checkpoint.
    listener.clear()
    resumed = dataclasses.replace(args, num_agents=1, resume=True)
    _run(stack.training_stack(resumed), lambda: any(
        s.learner_step >= learner_step for s in listener.messages(stack.LEARNER_STATUS_TOPIC)),
        listener, timeout=90)
    first = listener.messages(stack.LEARNER_STATUS_TOPIC)[0]
    assert first.learner_step >= learner_step, (first.learner_step, learner_step)

    # Drive mode with the exported artifact runs an episode with no learner present.
    listener.clear()
    drive = dataclasses.replace(args, policy=str(run / "policy.safetensors"))
    _run(stack.drive_stack(drive), lambda: any(
        e.evaluation and e.termination_reason != EpisodeStats.REASON_SHUTDOWN
        for e in listener.messages(stack.EPISODE_STATS_TOPIC)), listener, timeout=90)
    assert not listener.messages(stack.REPLAY_TOPIC)
    assert all(math.isfinite(e.episode_return) for e in
               listener.messages(stack.EPISODE_STATS_TOPIC))
