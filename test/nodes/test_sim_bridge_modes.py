"""sim_bridge through its topics: free-running mode, auto-reset, lane invasion, collision."""

import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

from carla_msgs.msg import CarlaLaneInvasionEvent, CarlaStatus  # noqa: E402
from nav_msgs.msg import Path  # noqa: E402
from test_sim_bridge import ScriptedDriver, _cmd, _collect, _sim  # noqa: E402

from td3_driving.msg import EpisodeStats  # noqa: E402
from td3_driving.ros import qos  # noqa: E402
from td3_driving.ros.bridge import stamp_ns  # noqa: E402

pytestmark = pytest.mark.ros


def test_free_running_ticks_without_any_controller(graph):
    probe = graph.node("probe")
    status = _collect(probe, CarlaStatus, "/carla/status")
    _sim(graph, synchronous_mode=False, real_time_factor=20.0)
    assert graph.spin_until(lambda: len(status) >= 10, timeout=20.0)
    frames = [m.frame for m in status]
    assert frames == sorted(frames) and not status[-1].synchronous_mode


def test_episode_end_is_reported_and_the_sim_resets_itself(graph):
    probe = graph.node("probe")
    stats = _collect(probe, EpisodeStats, "/sim/ego_vehicle/episode_score", qos.STATS)
    paths = _collect(probe, Path, "/carla/ego_vehicle/waypoints", qos.WAYPOINTS)
    # 20 frames = 5 ticks per episode; nobody sends set_transform.
    _sim(graph, auto_reset_ticks=3, **{"carracing.max_episode_frames": 20,
                                       "carracing.seed": 9})
    driver = ScriptedDriver(graph, "ego_vehicle", lambda n: _cmd(throttle=0.4))
    assert graph.spin_until(lambda: len(stats) >= 2 and len(paths) >= 2, timeout=30.0)
    first = stats[0]
    assert first.termination_reason == EpisodeStats.REASON_TIME_LIMIT
    assert (first.episode_id, first.length) == (0, 5)
    # Native score: +1000/N per visited tile (route_completion = tiles/N), -0.1 per frame.
    assert first.route_completion > 0.0
    assert first.native_score == pytest.approx(1000.0 * first.route_completion - 0.1 * 20,
                                               abs=1e-3)
    assert stats[1].episode_id == 1
    # The next episode began 3 ticks after the end: new route, stamped after the end.
    assert stamp_ns(paths[1].header.stamp) > stamp_ns(first.header.stamp)
    assert driver.frames >= 5 + 3 + 1


def test_leaving_the_road_is_a_grass_lane_invasion_and_collision_exists(graph):
    probe = graph.node("probe")
    invasions = _collect(probe, CarlaLaneInvasionEvent, "/carla/ego_vehicle/lane_invasion")
    _sim(graph, control_timeout_s=5.0)
    driver = ScriptedDriver(graph, "ego_vehicle", lambda n: _cmd(steer=1.0, throttle=0.5))
    assert graph.spin_until(lambda: invasions, timeout=30.0)
    assert list(invasions[0].crossed_lane_markings) == [8]  # grass
    assert invasions[0].header.frame_id == "map"
    # Stamped with the frame in which the car left the road.
    assert graph.spin_until(lambda: stamp_ns(invasions[0].header.stamp) in driver.images)
    assert probe.count_publishers("/carla/ego_vehicle/collision") == 1
