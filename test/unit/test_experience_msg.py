"""ExperienceBatch <-> StepBatch conversions: exact round trips, clear errors, no slow paths."""

import array

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="message tests need the built messages: ./env.sh")
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402

from td3_driving.core.experience import ExperienceRecorder  # noqa: E402
from td3_driving.msg import ExperienceBatch  # noqa: E402
from td3_driving.ros.experience_msg import msg_to_step_batch, step_batch_to_msg  # noqa: E402

FIELDS = ("sequence", "episode_id", "step_index", "policy_version", "frames", "vectors",
          "actions", "rewards", "terminated", "truncated")


def make_batch(steps=12, frame=(1, 8, 6), vector_size=3, seed=0):
    rng = np.random.default_rng(seed)
    rec = ExperienceRecorder("hero1", 2)
    for t in range(steps):
        image = rng.integers(0, 256, frame, dtype=np.uint8) if frame else None
        vector = rng.normal(size=vector_size).astype(np.float32)
        if t % 5 == 0:
            rec.begin_episode(image, vector, policy_version=t)
        else:
            rec.step(image, vector, rng.uniform(-1, 1, 2).astype(np.float32),
                     float(rng.normal()), t % 5 == 3, t % 5 == 4, policy_version=t)
    return rec.flush()


def assert_same(a, b):
    assert a.agent_id == b.agent_id
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("frame", [(1, 8, 6), (3, 4, 5), None])
def test_round_trip_through_cdr_serialization_is_exact(frame):
    batch = make_batch(frame=frame)
    msg = step_batch_to_msg(batch)
    assert (msg.frame_channels, msg.frame_height, msg.frame_width) == (frame or (0, 0, 0))
    back = msg_to_step_batch(deserialize_message(serialize_message(msg), ExperienceBatch))
    assert_same(batch, back)
    back.validate(frame or (0, 0, 0), 3, 2)


def test_outgoing_arrays_are_array_array_and_pass_checked_setters():
    # check_fields=True is what ROS_PYTHON_CHECK_FIELDS=1 turns on: bytes or numpy arrays
    # would be checked element by element there (slow) or refused
    msg = step_batch_to_msg(make_batch(), ExperienceBatch(check_fields=True))
    assert isinstance(msg.frames, array.array) and msg.frames.typecode == "B"
    assert isinstance(msg.sequence, array.array) and msg.sequence.typecode == "Q"
    assert msg.agent_id == "hero1" and msg.vector_size == 3 and msg.action_size == 2


def test_received_arrays_are_views_not_copies():
    msg = step_batch_to_msg(make_batch())
    batch = msg_to_step_batch(msg)
    msg.frames[0] = (msg.frames[0] + 1) % 256
    msg.rewards[3] = 42.0
    assert batch.frames.flat[0] == msg.frames[0] and batch.rewards[3] == 42.0


@pytest.mark.parametrize("field, shrink", [
    ("frames", lambda m: m.frames.pop()),
    ("vectors", lambda m: m.vectors.pop()),
    ("actions", lambda m: m.actions.append(0.0)),
    ("rewards", lambda m: m.rewards.pop()),
    ("episode_id", lambda m: m.episode_id.pop()),
    ("step_index", lambda m: m.step_index.pop()),
    ("policy_version", lambda m: m.policy_version.pop()),
    ("terminated", lambda m: m.terminated.pop()),
    ("truncated", lambda m: m.truncated.append(False)),
])
def test_inconsistent_sizes_raise_naming_the_field(field, shrink):
    msg = step_batch_to_msg(make_batch())
    shrink(msg)
    with pytest.raises(ValueError, match=f"'{field}'"):
        msg_to_step_batch(msg)


def test_declared_frame_size_must_match_the_bytes():
    msg = step_batch_to_msg(make_batch())
    msg.frame_width = 7
    with pytest.raises(ValueError, match="'frames'.*frame_channels \\* frame_height"):
        msg_to_step_batch(msg)


def test_an_invalid_batch_never_reaches_the_wire():
    batch = make_batch()
    batch.rewards[2] = np.nan
    with pytest.raises(ValueError, match="rewards"):
        step_batch_to_msg(batch)


def test_a_full_size_batch_keeps_its_frame_layout():
    # 64 steps of 84x84 frames, [N, C, H, W] row-major as msg/ExperienceBatch documents
    batch = make_batch(steps=64, frame=(1, 84, 84))
    msg = step_batch_to_msg(batch)
    assert len(msg.frames) == 64 * 84 * 84
    np.testing.assert_array_equal(np.frombuffer(msg.frames, np.uint8).reshape(64, 1, 84, 84),
                                  batch.frames)
