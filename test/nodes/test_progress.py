"""The progress line of `make train` / `make drive`: percentage, ETA, what a driver wants."""

import math

import pytest

from td3_driving.bringup import stack
from td3_driving.msg import EpisodeStats, LearnerStatus
from td3_driving.ros import qos
from td3_driving.ros.progress import (
    ProgressMonitor,
    clock,
    describe_episode,
    eta,
    fraction_done,
    time_left,
)


def test_the_budget_that_ends_the_run_first_sets_the_percentage():
    assert fraction_done(30.0, 500, max_steps=1000, duration=None) == 0.5
    assert fraction_done(30.0, 100, max_steps=1000, duration=60.0) == 0.5   # time first
    assert fraction_done(30.0, 900, max_steps=1000, duration=600.0) == 0.9  # steps first
    assert fraction_done(30.0, 900, max_steps=None, duration=None) is None
    assert fraction_done(99.0, 5000, max_steps=1000, duration=None) == 1.0


def test_eta_is_the_time_left_at_the_pace_or_of_the_duration():
    assert eta(0.25, time_left(60.0, 250, max_steps=1000, duration=None, pace=250 / 60)) \
        == "25% ETA 0:03:00"
    assert eta(0.0, time_left(5.0, 0, max_steps=1000, duration=None)) == "0% ETA -"
    assert time_left(60.0, 250, 1000, duration=120.0, pace=250 / 60) == 60.0  # time first
    assert time_left(60.0, 900, 1000, duration=600.0, pace=15.0) == pytest.approx(100 / 15)
    assert clock(3725) == "1:02:05"


def test_a_drive_episode_shows_score_lap_time_and_route():
    lap = EpisodeStats(episode_id=3, native_score=903.26, route_completion=1.0, length=250,
                       termination_reason=EpisodeStats.REASON_ROUTE_COMPLETE, sim_time=19.96)
    assert describe_episode(lap) == ("episode 3 | score 903.3 | lap time 20.0 s | "
                                     "route 100% | lap complete | 250 steps")
    off = EpisodeStats(episode_id=4, native_score=math.nan, episode_return=-2.5,
                       route_completion=0.42, length=80,
                       termination_reason=EpisodeStats.REASON_OFF_ROAD)
    assert describe_episode(off) == ("episode 4 | score -2.5 | no lap | route 42% | "
                                     "off road | 80 steps")


@pytest.fixture
def drive_monitor():
    monitor = ProgressMonitor(learner=False, duration=100.0, drive_role="progress_car")
    yield monitor
    monitor.close()


def test_a_drive_line_has_no_learner_and_lists_each_finished_episode(graph, drive_monitor):
    assert "learner" not in drive_monitor.line()
    assert "ETA" in drive_monitor.line()
    node = graph.node("fake_vehicle")
    agent = node.create_publisher(EpisodeStats, stack.EPISODE_STATS_TOPIC, qos.STATS)
    sim = node.create_publisher(EpisodeStats, "/sim/progress_car/episode_score", qos.STATS)
    graph.spin_until(lambda: sim.get_subscription_count() and agent.get_subscription_count())
    # the agent knows why the episode ended; the simulator follows with its native score
    agent.publish(EpisodeStats(episode_id=1, episode_return=40.0, route_completion=1.0,
                               length=250, sim_time=21.0,
                               termination_reason=EpisodeStats.REASON_ROUTE_COMPLETE))
    graph.spin_until(lambda: drive_monitor.episodes == 1)
    sim.publish(EpisodeStats(episode_id=7, native_score=850.0, route_completion=1.0,
                             termination_reason=EpisodeStats.REASON_SIM_RESET))
    agent.publish(EpisodeStats(episode_id=2, termination_reason=EpisodeStats.REASON_SHUTDOWN))
    lines = []
    graph.spin_until(lambda: lines.extend(drive_monitor.take_episodes()) or lines, 10.0)
    graph.spin_until(lambda: drive_monitor.episodes == 2)
    lines += drive_monitor.take_episodes(wait_for_score_s=0.0)
    # the episode cut short by the stop itself is not reported
    assert lines == ["episode 1 | score 850.0 | lap time 21.0 s | route 100% | "
                     "lap complete | 250 steps"]


def test_an_evaluation_prints_one_progress_line_per_finished_episode(capsys):
    from td3_driving.apps.evaluate import EpisodeProgress
    progress = EpisodeProgress(4)
    progress(0)
    progress(1, 812.34)
    progress(1, 812.34)        # polled again with nothing new: no second line
    progress(4, -20.0)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("[evaluate] 1/4 episodes | 25% ETA ")
    assert lines[0].endswith("| last score 812.3")
    assert lines[1].startswith("[evaluate] 4/4 episodes | 100% ETA 0:00:00")


def test_the_in_process_protocol_reports_each_episode():
    from td3_driving.sim.config import CarRacingConfig
    from td3_driving.sim.driving_env import evaluate_in_process
    seen = []
    result = evaluate_in_process(lambda obs: [0.0, 1.0], episodes=2, seed=3,
                                 on_episode=lambda done, score: seen.append((done, score)),
                                 sim_config=CarRacingConfig(max_episode_frames=40))
    assert [done for done, _ in seen] == [1, 2]
    assert [score for _, score in seen] == [e["native_score"] for e in result["episodes"]]


def test_a_resumed_training_line_takes_its_pace_from_this_sittings_statuses(graph):
    monitor = ProgressMonitor(max_steps=75_000)
    try:
        node = graph.node("fake_learner")
        pub = node.create_publisher(LearnerStatus, stack.LEARNER_STATUS_TOPIC, qos.STATS)
        graph.spin_until(lambda: pub.get_subscription_count())
        pub.publish(LearnerStatus(steps_received=23_487))   # where the last sitting stopped
        assert graph.spin_until(lambda: monitor.steps_received() == 23_487)
        assert "31% ETA -" in monitor.line()                # no step of this sitting yet
        arrival, steps = monitor.samples[0]
        monitor.samples[0] = (arrival - 60.0, steps)         # a minute later, 443 steps on
        pub.publish(LearnerStatus(steps_received=23_930))
        assert graph.spin_until(lambda: monitor.steps_received() == 23_930)
        h, m, sec = monitor.line().split("32% ETA ")[1].split(" |")[0].split(":")
        # about 2 h at 443 steps a minute, not 0:02:08 from "32 % done in one minute"
        assert 60 * 51_070 / 443 <= 3600 * int(h) + 60 * int(m) + int(sec) <= 65 * 51_070 / 443
    finally:
        monitor.close()
