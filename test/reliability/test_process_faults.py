"""Real node processes killed with SIGKILL and restarted (slow: `make test-slow`).

One training stack (2 simulators + 2 agents + learner, CI-sized by test/e2e/tiny_stack.yaml):
an agent is killed (the learner keeps training), a simulator is killed and restarted
mid-episode (its agent truncates the episode and carries on), the learner is killed (the
agents keep driving) and restarted with resume (it continues from the last complete
checkpoint and counts the experience sent meanwhile as lost).
"""

import dataclasses
import json
import os
import signal
from pathlib import Path

import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

import torch  # noqa: E402
from carla_msgs.msg import CarlaEgoVehicleControl  # noqa: E402

from td3_driving.bringup import stack  # noqa: E402
from td3_driving.bringup.launcher import Process, Stack, command, stack_environment  # noqa: E402
from td3_driving.msg import EpisodeStats, ExperienceBatch, LearnerStatus  # noqa: E402
from td3_driving.ros import qos  # noqa: E402
from td3_driving.ros.listener import Listener  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(900)]
TINY = str(Path(__file__).resolve().parents[1] / "e2e" / "tiny_stack.yaml")


class Recorder(Listener):
    """Records the stack's status, episodes, replay and hero0's commands."""

    def __init__(self):
        super().__init__("fault_recorder")
        self.killed: set[str] = set()
        for msg_type, topic, profile in (
                (LearnerStatus, stack.LEARNER_STATUS_TOPIC, qos.STATS),
                (EpisodeStats, stack.EPISODE_STATS_TOPIC, qos.STATS),
                (ExperienceBatch, stack.REPLAY_TOPIC, qos.REPLAY),
                (CarlaEgoVehicleControl, "/carla/hero0/vehicle_control_cmd", qos.BRIDGE)):
            self.record(msg_type, topic, profile)

    def wait(self, condition, timeout, procs):
        """Like wait_for, failing as soon as a node dies that the test did not kill."""
        def done():
            dead = [p.label for p in procs if not p.alive() and p.label not in self.killed]
            assert not dead, f"nodes died on their own: {dead}"
            return condition()
        return self.wait_for(done, timeout, poll=0.2)


def _tiny(groups):
    return [dataclasses.replace(g, nodes=tuple(
        dataclasses.replace(n, params_files=n.params_files + (TINY,)) for n in g.nodes))
        for g in groups]


def test_kill_agent_simulator_and_learner_and_restart(tmp_path):
    args = stack.StackArgs(num_agents=2, run_dir=str(tmp_path / "run"), params_file=TINY)
    groups = _tiny(stack.training_stack(args))
    specs = {f"{g.namespace}/{n.name}".strip("/"): n for g in groups for n in g.nodes}
    rec = Recorder()
    nodes = Stack(groups, quiet=True)
    nodes.start()
    procs = {p.label: p for p in nodes.processes}

    def status():
        return rec.messages(stack.LEARNER_STATUS_TOPIC)

    def kill(label):
        rec.killed.add(label)
        os.killpg(procs[label].popen.pid, signal.SIGKILL)
        procs[label].popen.wait(10)

    def restart(label, spec):
        proc = Process(label, command(spec, "info"), stack_environment(), quiet=True)
        nodes.processes.remove(procs[label])     # the killed one
        nodes.processes.append(proc)
        procs[label] = proc
        rec.killed.discard(label)

    try:
        ckpts = Path(args.run_dir) / "checkpoints"
        assert rec.wait(lambda: status() and status()[-1].learner_step >= 60
                        and list(ckpts.glob("ckpt_*.pt")), 240, nodes.processes)
        # 1. an agent is killed: the learner keeps training on the other one's data
        kill("hero1/agent")
        step = status()[-1].learner_step
        assert rec.wait(lambda: status()[-1].learner_step >= step + 30, 120, nodes.processes)

        # 2. hero0's simulator is killed and restarted mid-episode
        kill("hero0/sim_bridge")
        restart("hero0/sim_bridge", specs["hero0/sim_bridge"])
        assert rec.wait(lambda: any(
            e.termination_reason == EpisodeStats.REASON_SIM_RESET and e.agent_id.startswith(
                "hero0:") for e in rec.messages(stack.EPISODE_STATS_TOPIC)), 240, nodes.processes)
        episodes = len(rec.messages(stack.EPISODE_STATS_TOPIC))
        assert rec.wait(lambda: len(rec.messages(stack.EPISODE_STATS_TOPIC)) > episodes, 120,
                        nodes.processes)                     # and carries on

        # 3. the learner is killed: hero0 keeps driving
        kill("learner")
        commands = len(rec.messages("/carla/hero0/vehicle_control_cmd"))
        assert rec.wait(lambda: len(rec.messages("/carla/hero0/vehicle_control_cmd"))
                        > commands + 50, 120, nodes.processes)
        newest = sorted(ckpts.glob("ckpt_*.pt"))[-1]
        ckpt_updates = int(newest.stem.split("_")[1])

        # 4. restarted with resume: continues from the last complete checkpoint
        extra = json.loads(torch.load(newest, weights_only=True)["extra_json"])
        rec.clear(stack.LEARNER_STATUS_TOPIC)
        resumed = stack.learner(dataclasses.replace(args, resume=True))
        restart("learner", dataclasses.replace(resumed,
                                               params_files=resumed.params_files + (TINY,)))
        assert rec.wait(lambda: status() and status()[-1].steps_dropped
                        > extra["steps_dropped"], 180, nodes.processes)
        assert status()[0].learner_step == ckpt_updates
        # what hero0 sent after that checkpoint is counted as lost, not silently gone
        assert status()[-1].steps_received >= extra["steps_received"]
        assert procs["hero0/agent"].alive() and procs["learner"].alive()
    finally:
        codes = nodes.stop()
        rec.close()
    assert codes["learner"] == 0
