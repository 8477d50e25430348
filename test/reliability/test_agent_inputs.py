"""The agent node under bad input from the bridge (the learner's and the user's:
test_agent_policy_inputs.py).

Every case: a clear error naming the topic and field, the node keeps running (one control
command per frame, also for a frame it cannot use), nothing corrupt enters the experience
it sends or the actor it acts with.
"""

import math

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

from carla_msgs.msg import CarlaStatus  # noqa: E402
from rcl_interfaces.msg import Log  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from support.fake_bridge import NS, FakeBridge, circle, make_agent, start, step  # noqa: E402

from td3_driving.msg import EpisodeStats  # noqa: E402
from td3_driving.nodes import agent as agent_node  # noqa: E402
from td3_driving.ros.sim_messages import sim_stamp  # noqa: E402

pytestmark = pytest.mark.ros


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
