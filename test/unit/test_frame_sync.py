"""FrameAssembler: frames by stamp, late events latched, nothing dropped silently."""

import pytest

from td3_driving.ros.frame_sync import FrameAssembler

PARTS = ("image", "odometry", "status")


def test_frame_completes_when_all_parts_of_one_stamp_arrived_in_any_order():
    sync = FrameAssembler(PARTS)
    assert sync.add("status", 100, "s") is None
    assert sync.add("image", 100, "i") is None
    frame = sync.add("odometry", 100, "o")
    assert frame.stamp_ns == 100 and frame.parts == {"image": "i", "odometry": "o", "status": "s"}


def test_parts_of_different_stamps_never_mix():
    sync = FrameAssembler(PARTS)
    sync.add("image", 100, "i100")
    sync.add("image", 200, "i200")
    sync.add("odometry", 200, "o200")
    frame = sync.add("status", 200, "s200")
    assert frame.parts["image"] == "i200"
    assert sync.counters.incomplete == 1  # stamp 100 abandoned, and counted


def test_stale_and_duplicate_parts_are_counted():
    sync = FrameAssembler(PARTS)
    for p in PARTS:
        sync.add(p, 100, p)
    assert sync.add("image", 100, "again") is None
    assert sync.add("image", 50, "older") is None
    assert sync.counters.stale == 2
    sync.add("image", 300, "x")
    sync.add("image", 300, "y")
    assert sync.counters.duplicate == 1


def test_events_are_latched_until_the_next_complete_frame():
    sync = FrameAssembler(PARTS)
    for p in PARTS:
        sync.add(p, 100, p)
    sync.add_event("off_road")
    for p in PARTS[:2]:
        sync.add(p, 200, p)
    frame = sync.add("status", 200, "s")
    assert frame.events == {"off_road"}
    for p in PARTS:
        frame = sync.add(p, 300, p)
    assert frame.events == frozenset()


def test_pending_stamps_are_bounded():
    sync = FrameAssembler(PARTS, max_pending=4)
    for stamp in range(10):
        sync.add("image", stamp, "i")
    assert sync.counters.incomplete == 6


def test_unknown_part_is_an_error_and_reset_restarts_time():
    sync = FrameAssembler(PARTS)
    with pytest.raises(KeyError, match="unknown frame part"):
        sync.add("lidar", 1, None)
    for p in PARTS:
        sync.add(p, 100, p)
    sync.reset()
    for p in PARTS[:2]:
        sync.add(p, 10, p)
    assert sync.add("status", 10, "s") is not None


def test_parts_stamped_far_ahead_never_take_the_pending_slots():
    sync = FrameAssembler(PARTS, max_pending=4, max_ahead_ns=1000)
    for p in PARTS:
        sync.add(p, 100, p)
    for k in range(10):                   # a peer sending images from the far future
        assert sync.add("image", 10_000 + k, "bogus") is None
    assert sync.counters.ahead == 10
    for p in PARTS[:2]:                   # the next real frame still completes
        sync.add(p, 200, p)
    frame = sync.add("status", 200, "s")
    assert frame is not None and frame.stamp_ns == 200 and sync.counters.incomplete == 0


def test_a_complete_frame_far_ahead_is_a_real_jump_and_is_taken():
    sync = FrameAssembler(PARTS, max_ahead_ns=1000)
    for p in PARTS:
        sync.add(p, 100, p)
    for p in PARTS[:2]:
        assert sync.add(p, 50_000, p) is None
    frame = sync.add("status", 50_000, "s")
    assert frame is not None and frame.stamp_ns == 50_000
    assert sync.add("image", 200, "late") is None and sync.counters.stale == 1


def test_parts_set_aside_are_reported_per_cause_with_their_topic():
    heard = []
    sync = FrameAssembler(PARTS, max_ahead_ns=1_000, warn=lambda *w: heard.append(w),
                          names={"image": "/carla/hero/rgb_front/image"})
    for p in PARTS:
        sync.add(p, 100, p)
    sync.add("image", 50, "older")
    sync.add("odometry", 5_000, "far ahead")
    assert [cause for cause, _ in heard] == ["sync:image", "ahead:odometry"]
    assert heard[0][1].startswith("/carla/hero/rgb_front/image: header.stamp out of order")
    assert "more than max_stamp_ahead_s=1e-06" in heard[1][1]


def test_a_simulator_frame_counter_going_back_is_a_restart_and_empties_the_assembler():
    sync = FrameAssembler(PARTS, max_ahead_ns=1_000_000_000)   # 1 s: 12.5 frames of 0.08 s
    assert sync.simulator_frame(400, 0.08) == ""
    sync.add("image", 100, "i")
    assert sync.simulator_frame(410, 0.08) == ""
    with pytest.raises(ValueError, match="jumped ahead from 410 to 500"):
        sync.simulator_frame(500, 0.08)
    assert sync.sim_frame == 410   # the stray counter is not taken
    assert sync.simulator_frame(3, 0.08) == "frame went back from 410 to 3"
    assert sync.sim_frame == 3 and sync.last_stamp_ns == -1
    assert sync.add("odometry", 100, "o") is None   # the pending image went with the restart
