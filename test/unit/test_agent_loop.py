"""AgentLoop without a graph: reset protocol, acting, experience, backpressure, restarts."""

import math

import numpy as np
import pytest

from td3_driving.core.config import ActionConfig, ObservationConfig
from td3_driving.task.agent_loop import ROUTE_WAIT_FRAMES, AgentLoop, SensorFrame
from td3_driving.task.config import AgentConfig, RewardConfig
from td3_driving.task.driving import DEFAULT_VECTOR_SCALE, VECTOR_SIZE, DrivingTask, VehicleState

OBS = ObservationConfig(stack=2, height=16, width=16, vector_size=VECTOR_SIZE,
                        vector_scale=DEFAULT_VECTOR_SCALE)
RADIUS = 50.0
DT_NS = 80_000_000


def circle(n=314):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.c_[RADIUS * np.cos(t), RADIUS * np.sin(t)]


class World:
    """AgentOutputs that records every call; a vehicle driving around the circle."""

    def __init__(self, tracks=True, deliver=True):
        self.tracks, self.deliver = tracks, deliver
        self.calls = []
        self.controls, self.batches, self.records, self.logs = [], [], [], []
        self.t_ns, self.angle = 0, 0.0

    def control(self, c):
        self.controls.append(c)
        self.calls.append("control")

    def can_request_track(self):
        return self.tracks

    def request_track(self):
        self.calls.append("request_track")

    def teleport(self, x, y, yaw):
        self.calls.append(("teleport", round(x, 6), round(y, 6), round(yaw, 6)))

    def pause(self, paused):
        self.calls.append(("pause", paused))

    def episode_end(self, record):
        self.records.append(record)

    def experience(self, batch):
        self.batches.append(batch)
        return "" if self.deliver else "no learner"

    def log(self, level, cause, text):
        self.logs.append((level, cause, text))

    def frame(self, **kw):
        self.t_ns += DT_NS
        self.angle += 0.016
        a = self.angle
        state = VehicleState(RADIUS * math.cos(a), RADIUS * math.sin(a), a + math.pi / 2,
                             10.0, 0.0, 0.5, 0.0)
        return SensorFrame(self.t_ns, np.full((24, 24, 3), 100, np.uint8), state, **kw)

    def steps(self):
        out = []
        for b in self.batches:
            out += list(zip(b.sequence.tolist(), b.episode_id.tolist(), b.step_index.tolist(),
                            b.truncated.tolist(), b.terminated.tolist()))
        return out


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def make(world, clock=None, reward=None, **cfg):
    cfg = AgentConfig(**{"settle_ticks": 0, "batch_steps": 4, **cfg})
    task = DrivingTask(OBS, reward or RewardConfig())
    return AgentLoop(cfg, task, ActionConfig(), world, "test:0",
                     clock=clock or Clock())


def drive(loop, world, n, **kw):
    for _ in range(n):
        loop.drive(world.frame(**kw))


def test_first_episode_teleports_to_the_route_start_then_begins():
    world = World()
    loop = make(world)
    loop.drive(world.frame())                    # no route yet: hold still
    assert loop.phase == "reset" and world.controls[-1].brake == 1.0
    loop.set_route(circle())
    loop.drive(world.frame())
    # first waypoint, heading toward the second (counter-clockwise circle: +y)
    yaw = math.atan2(circle()[1, 1], circle()[1, 0] - RADIUS)
    assert world.calls[-2] == ("teleport", RADIUS, 0.0, round(yaw, 6))
    assert "request_track" not in world.calls    # the first track is the one loaded
    loop.drive(world.frame())
    assert loop.phase == "running"


def test_every_frame_is_answered_once_with_its_own_stamp():
    world = World()
    loop = make(world, reward=RewardConfig(max_episode_steps=5))
    loop.set_route(circle())
    stamps = []
    for _ in range(30):
        frame = world.frame()
        stamps.append(frame.stamp_ns)
        loop.drive(frame)
        if world.calls.count("request_track") > len(
                [c for c in world.calls if isinstance(c, tuple) and c[0] == "teleport"]) - 1:
            loop.set_route(circle())             # the simulator answers a track request
    assert [c.stamp_ns for c in world.controls] == stamps
    assert len(world.records) >= 3 and {r.reason for r in world.records} == {"time_limit"}


def test_a_track_request_waits_for_the_fresh_route_then_teleports_and_settles():
    world = World()
    loop = make(world, reward=RewardConfig(max_episode_steps=2), settle_ticks=2)
    loop.set_route(circle())
    drive(loop, world, 2 + 2 + 1 + 2)   # teleport, settle 2, begin, 2 steps -> episode end
    assert world.records and world.calls.count("request_track") == 1
    n_teleports = sum(1 for c in world.calls if isinstance(c, tuple) and c[0] == "teleport")
    drive(loop, world, 5)                        # the simulator has not answered yet
    assert loop.phase == "reset"
    assert sum(1 for c in world.calls if isinstance(c, tuple) and c[0] == "teleport") \
        == n_teleports
    assert all(c.brake == 1.0 and c.throttle == 0.0 for c in world.controls[-5:])
    loop.set_route(circle())
    drive(loop, world, 1)                        # teleport
    assert world.calls[-2][0] == "teleport"
    drive(loop, world, 2)                        # settle_ticks
    assert loop.phase == "reset"
    drive(loop, world, 1)
    assert loop.phase == "running"


def test_against_carla_there_is_no_track_request_and_the_same_route_is_driven():
    world = World(tracks=False)
    loop = make(world, reward=RewardConfig(max_episode_steps=2))
    loop.set_route(circle())
    drive(loop, world, 12)
    assert "request_track" not in world.calls and len(world.records) >= 2


def test_a_simulator_that_never_sends_the_route_does_not_stop_the_agent():
    world = World()
    loop = make(world, reward=RewardConfig(max_episode_steps=1))
    loop.set_route(circle())
    drive(loop, world, 3)                        # teleport, begin, end
    assert world.records
    drive(loop, world, ROUTE_WAIT_FRAMES + 3)
    assert loop.recorder.episode_id == 1         # the next episode began on the old route
    assert any(cause == "route_wait" for _, cause, _ in world.logs)


def test_experience_is_gap_free_and_the_newest_step_waits_for_the_next():
    world = World()
    loop = make(world, reward=RewardConfig(max_episode_steps=6))
    loop.set_route(circle())
    drive(loop, world, 2 + 7)    # teleport, begin + 6 steps: the episode ends
    steps = world.steps()
    assert [s[0] for s in steps] == list(range(7))
    assert [s[2] for s in steps] == list(range(7))
    assert steps[-1][3] and not steps[-1][4]     # truncated by the time limit


def test_a_simulator_restart_truncates_the_last_step_and_begins_again():
    world = World()
    loop = make(world)
    loop.set_route(circle())
    drive(loop, world, 2 + 3)
    loop.simulator_restarted("test")
    assert world.records[-1].reason == "sim_reset" and math.isnan(world.records[-1].sim_time)
    assert world.steps()[-1][3], "the cut episode's last step is not truncated"
    assert "request_track" in world.calls
    loop.set_route(circle())
    drive(loop, world, 3)
    assert loop.phase == "running" and loop.recorder.episode_id == 1


def test_backpressure_holds_the_frame_and_pauses_until_the_learner_allows_more():
    world, clock = World(), Clock()
    loop = make(world, clock)
    loop.set_route(circle())
    drive(loop, world, 3)
    loop.learner_status(steps_received=10, steps_allowed=10)
    n = len(world.controls)
    held = world.frame()
    loop.drive(held)
    assert loop.held_frame is held and len(world.controls) == n
    assert world.calls[-1] == ("pause", True)
    loop.learner_status(steps_received=10, steps_allowed=20)
    assert loop.held_frame is None and world.controls[-1].stamp_ns == held.stamp_ns
    assert ("pause", False) in world.calls


def test_a_learner_gone_quiet_releases_the_held_frame():
    world, clock = World(), Clock()
    loop = make(world, clock, learner_timeout_s=2.0)
    loop.set_route(circle())
    drive(loop, world, 3)
    loop.learner_status(steps_received=0, steps_allowed=0)
    loop.drive(world.frame())
    loop.check_held()
    assert loop.held_frame is not None           # the status is still fresh
    clock.t = 3.0
    loop.check_held()
    assert loop.held_frame is None and any(c == "learner_gone" for _, c, _ in world.logs)


def test_a_stopped_learner_never_holds_the_agent():
    world = World()
    loop = make(world)
    loop.set_route(circle())
    drive(loop, world, 3)
    loop.learner_status(steps_received=5, steps_allowed=5, stopped=True)
    n = len(world.controls)
    drive(loop, world, 3)
    assert loop.held_frame is None and len(world.controls) == n + 3


def test_undelivered_batches_are_counted_as_dropped():
    world = World(deliver=False)
    loop = make(world)
    loop.set_route(circle())
    drive(loop, world, 20)
    assert loop.dropped_steps == sum(len(b) for b in world.batches) > 0
    assert ("warning", f"no learner: {loop.dropped_steps} steps dropped so far") in \
        [(level, text) for level, _, text in world.logs]


def test_a_refused_frame_repeats_the_previous_control_and_leaves_no_experience():
    world = World()
    loop = make(world)
    loop.set_route(circle())
    drive(loop, world, 4)
    before = world.controls[-1]
    loop.refuse_frame(world.t_ns + DT_NS, "odometry", "odometry: bad")
    c = world.controls[-1]
    assert (c.steer, c.throttle, c.brake) == (before.steer, before.throttle, before.brake)
    assert c.stamp_ns == world.t_ns + DT_NS
    drive(loop, world, 10)
    assert [s[0] for s in world.steps()] == list(range(len(world.steps())))


def test_warm_up_is_random_then_the_policy_acts_with_noise_and_drive_mode_without():
    class Policy:
        def act(self, obs):
            return np.array([0.5, 0.5], np.float32)
    world = World()
    loop = make(world)
    loop.set_route(circle())
    drive(loop, world, 6)
    warm = [c.steer for c in world.controls[-4:]]
    assert len(set(warm)) == 4                   # uniform random
    loop.set_policy(Policy(), 3)
    drive(loop, world, 4)
    noisy = [c.steer for c in world.controls[-4:]]
    assert len(set(noisy)) == 4 and all(abs(s - 0.5) < 0.6 for s in noisy)
    drive_world = World()
    driver = make(drive_world, mode="drive")
    driver.set_policy(Policy(), 1)
    driver.set_route(circle())
    drive(driver, drive_world, 5)
    assert {c.steer for c in drive_world.controls[-3:]} == {0.5}
    assert driver.recorder is None


def test_drive_mode_without_a_policy_is_an_error():
    world = World()
    loop = make(world, mode="drive")
    loop.set_route(circle())
    with pytest.raises(RuntimeError, match="without a policy"):
        drive(loop, world, 3)
