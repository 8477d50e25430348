"""The simulator's world without ROS: tracks, teleports, velocity, autopilot, descriptions."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from td3_driving.core.config_base import from_mapping
from td3_driving.sim import carracing as cr
from td3_driving.sim.config import SimBridgeConfig
from td3_driving.sim.inputs import Placement, Velocity
from td3_driving.sim.pure_pursuit import Control
from td3_driving.sim.world import END_RESET, ROAD_WIDTH_M, BridgeWorld


@pytest.fixture
def world():
    w = BridgeWorld(from_mapping(SimBridgeConfig, {"carracing": {"seed": 4}}))
    yield w
    w.close()


GAS = Control(0.0, 0.6, 0.0)


def _drive(w, n, control=GAS):
    w.controls.command = control
    return [w.tick(render=False) for _ in range(n)][-1]


def test_teleport_lands_on_the_pose_at_rest_and_keeps_the_track(world):
    first = world.start()
    _drive(world, 15)
    target = world.track.waypoints[200]
    world.request_teleport(Placement(float(target[0]), float(target[1]), float(target[2])))
    f = world.tick(render=True)
    s = f.result.state
    assert math.hypot(s.x - target[0], s.y - target[1]) < 0.05
    assert abs(math.remainder(s.yaw - target[2], 2 * math.pi)) < 1e-3
    assert s.speed == 0.0 and f.track is None and f.ended is None
    assert s.on_track and f.result.image.shape == (84, 96, 3)
    assert world.sim.seed == first.track.seed  # same track: a teleport is no reset
    after = _drive(world, 1, Control(0.0, 0.0, 0.0))
    assert after.result.state.speed < 0.5  # no velocity carried over the teleport


def test_next_track_loads_the_requested_seed_and_reports_the_cut_episode(world):
    world.start()
    _drive(world, 5)
    world.request_track(42)
    f = world.tick()
    assert f.track.seed == 42 and f.track.map_name.endswith("seed_42")
    assert f.ended.reason == END_RESET and f.ended.episode_id == 0 and f.episode_id == 1
    assert f.result.state.speed == 0.0
    world.request_track(None)  # the schedule goes on where it was: seed 4 + 1
    world.request_teleport(Placement(10.0, -20.0, 0.0))
    assert world.tick().track.seed == 5
    moved = world.tick().result.state  # the teleport asked after the load request: next
    assert (moved.x, moved.y) == pytest.approx((10.0, -20.0), abs=0.05)


def test_target_velocity_sets_the_speed_in_the_vehicle_frame(world):
    world.start()
    world.request_velocity(Velocity(20.0, 0.0, 0.0))
    f = _drive(world, 1, Control(0.0, 0.0, 0.0))
    assert f.result.state.vx == pytest.approx(20.0, rel=0.1)
    assert abs(f.result.state.vy) < 1.0


def test_autopilot_laps_the_track():
    w = BridgeWorld(from_mapping(SimBridgeConfig, {"carracing": {"seed": 1,
                                                   "max_episode_frames": 0}}))
    try:
        w.start()
        w.controls.autopilot = True
        w.controls.command = Control(0.0, 0.0, 1.0)  # ignored while the autopilot drives
        for _ in range(1500):
            f = w.tick(render=False)
            if f.ended:
                break
        assert f.ended and f.ended.reason == cr.END_LAP
        assert f.ended.summary.route_completion >= 0.95
    finally:
        w.close()


def test_world_info_is_an_opendrive_road_along_the_centre_line(world):
    track = world.start().track
    root = ET.fromstring(track.opendrive)
    road = root.find("road")
    geoms = road.find("planView").findall("geometry")
    centre = world.sim.centerline()
    assert len(geoms) == len(centre)
    xy = np.array([(float(g.get("x")), float(g.get("y"))) for g in geoms])
    assert np.allclose(xy, centre, atol=1e-3)
    length = sum(float(g.get("length")) for g in geoms)
    assert float(road.get("length")) == pytest.approx(length, rel=1e-6)
    widths = [float(lane.find("width").get("a")) for side in ("left", "right")
              for lane in road.find("lanes").find("laneSection").find(side)]
    assert widths == pytest.approx([ROAD_WIDTH_M / 2] * 2, abs=1e-3)
    assert root.find("header").get("name") == track.map_name


def test_vehicle_facts_are_si_and_front_wheels_steer(world):
    world.start()
    facts = world.vehicle()
    assert 5.0 < facts.mass < 10.0  # Box2D kg: see td3_driving/sim/vehicle.py
    assert [w.max_steer_angle for w in facts.wheels] == [0.4, 0.4, 0.0, 0.0]
    front, rear = facts.wheels[0].position, facts.wheels[2].position
    assert front[0] > 0 > rear[0] and 2.5 < front[0] - rear[0] < 3.5  # wheelbase, metres
    assert all(w.radius == pytest.approx(0.54) and w.tire_friction > 1 for w in facts.wheels)
    assert all(w.max_brake_torque > 0 for w in facts.wheels) and facts.moi > 0
