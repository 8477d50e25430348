"""Replay buffer: frames stored once, stacks and transitions rebuilt exactly as agents saw them."""

import numpy as np
import pytest

from td3_driving.core.config import ObservationConfig, ReplayConfig
from td3_driving.core.experience import ExperienceRecorder, StepBatch
from td3_driving.core.replay import ReplayBuffer
from td3_driving.task.observation import FrameStack

OBS = ObservationConfig(stack=4, height=8, width=8, vector_size=1)


def frame(step_id: int) -> np.ndarray:
    """A frame whose pixels all equal its id, so stacks can be read back."""
    return np.full((8, 8), step_id, np.uint8)


def record(rec: ExperienceRecorder, ids, rewards=None, end="terminated", start=True):
    """One episode: ids[0] is the reset observation; vectors carry the id."""
    rewards = rewards if rewards is not None else [0.0] * len(ids)
    if start:
        rec.begin_episode(frame(ids[0]), [ids[0]])
    for k, i in enumerate(ids[1:] if start else ids):
        last = k == len(ids) - (2 if start else 1)
        rec.step(frame(i), [i], [0.1, -0.1], rewards[k + (1 if start else 0)],
                 last and end == "terminated", last and end == "truncated")


def buffer(capacity=1000, n_step=1, gamma=0.5) -> ReplayBuffer:
    return ReplayBuffer(OBS, ReplayConfig(capacity=capacity, n_step=n_step), 2, gamma)


def all_transitions(buf: ReplayBuffer) -> dict[int, dict]:
    """Every valid transition, keyed by the id of its observation's newest frame."""
    batch = buf.sample(4000, np.random.default_rng(0))
    out = {}
    for j in range(4000):
        out[int(batch["vector"][j, 0])] = {k: v[j].numpy() for k, v in batch.items()}
    return out


def stack_ids(image: np.ndarray) -> list[int]:
    return [int(image[c, 0, 0]) for c in range(image.shape[0])]


def test_stacks_equal_the_agents_framestack_and_never_cross_episodes():
    rec, buf, seen = ExperienceRecorder("a", 2), buffer(), {}
    for ids in ([10, 11, 12, 13, 14, 15], [20, 21, 22]):
        fs = FrameStack(OBS)
        seen[ids[0]] = fs.reset(frame(ids[0]))
        for i in ids[1:]:
            seen[i] = fs.push(frame(i))
        record(rec, ids)
    report = buf.add(rec.flush())
    assert (report.steps_added, report.transitions_added) == (9, 7)
    transitions = all_transitions(buf)
    assert sorted(transitions) == [10, 11, 12, 13, 14, 20, 21]
    for obs_id, t in transitions.items():
        next_id = int(t["next_vector"][0])
        assert next_id == obs_id + 1
        np.testing.assert_array_equal(t["image"], seen[obs_id])
        np.testing.assert_array_equal(t["next_image"], seen[next_id])
    assert stack_ids(transitions[20]["image"]) == [20, 20, 20, 20]   # not 13, 14, 15
    assert stack_ids(transitions[21]["next_image"]) == [20, 20, 21, 22]


def test_terminated_and_truncated_episode_ends():
    rec, buf = ExperienceRecorder("a", 2), buffer()
    record(rec, [10, 11, 12], end="terminated")
    record(rec, [20, 21, 22], end="truncated")
    buf.add(rec.flush())
    t = all_transitions(buf)
    assert t[11]["terminated"] == 1.0 and t[10]["terminated"] == 0.0
    assert t[21]["terminated"] == 0.0   # truncated: the learner bootstraps from step 22


def test_sequence_gap_is_counted_and_breaks_the_stack():
    rec, buf = ExperienceRecorder("a", 2), buffer()
    record(rec, [10, 11, 12, 13, 14, 15])
    batch = rec.flush()
    keep = np.array([0, 1, 2, 4, 5])            # step with id 13 lost on the wire
    lossy = StepBatch(batch.agent_id, **{f: getattr(batch, f)[keep] for f in (
        "sequence", "episode_id", "step_index", "policy_version", "frames", "vectors",
        "actions", "rewards", "terminated", "truncated")})
    report = buf.add(lossy)
    assert report.gaps == {"a": 1} and report.missing_steps == {"a": 1}
    t = all_transitions(buf)
    assert sorted(t) == [10, 11, 14]           # no transition 12 -> 14
    assert stack_ids(t[14]["image"]) == [14, 14, 14, 14]


def test_duplicates_dropped_and_agents_interleave():
    rec_a, rec_b, buf = ExperienceRecorder("a", 2), ExperienceRecorder("b", 2), buffer()
    record(rec_a, [10, 11], end="none")
    first_a = rec_a.flush()
    record(rec_b, [50, 51, 52], end="none")
    record(rec_a, [12, 13], start=False)
    buf.add(first_a)
    buf.add(rec_b.flush())
    assert buf.add(first_a).dropped == {"a": 2}       # resent: duplicates are counted
    report = buf.add(rec_a.flush())
    assert report.gaps == {} and report.broken_links == {} and report.transitions_added == 2
    t = all_transitions(buf)
    assert sorted(t) == [10, 11, 12, 50, 51]
    assert stack_ids(t[12]["next_image"]) == [10, 11, 12, 13]


def test_inconsistent_episodes_are_counted_as_broken_links():
    rec, buf = ExperienceRecorder("a", 2), buffer()
    record(rec, [10, 11, 12], end="none")    # episode never flagged as ended ...
    record(rec, [20, 21])                    # ... before the next one begins
    report = buf.add(rec.flush())
    assert report.broken_links == {"a": 1} and report.gaps == {}
    t = all_transitions(buf)
    assert sorted(t) == [10, 11, 20] and t[11]["terminated"] == 0.0


def test_n_step_returns_stop_at_the_terminal():
    rec, buf = ExperienceRecorder("a", 2), buffer(n_step=3, gamma=0.5)
    record(rec, [0, 1, 2, 3, 4, 5], rewards=[0, 1, 2, 3, 4, 5])
    assert buf.add(rec.flush()).transitions_added == 5
    t = all_transitions(buf)
    expected = {  # obs id: (reward, discount, next id, terminated)
        0: (1 + 0.5 * 2 + 0.25 * 3, 0.125, 3, 0), 1: (2 + 0.5 * 3 + 0.25 * 4, 0.125, 4, 0),
        2: (3 + 0.5 * 4 + 0.25 * 5, 0.125, 5, 1), 3: (4 + 0.5 * 5, 0.25, 5, 1),
        4: (5, 0.5, 5, 1)}
    for obs_id, (reward, discount, next_id, term) in expected.items():
        got = t[obs_id]
        assert got["reward"] == pytest.approx(reward) and got["discount"] == discount
        assert (int(got["next_vector"][0]), got["terminated"]) == (next_id, term)


def test_ring_overwrite_invalidates_transitions_whose_frames_are_gone():
    rec, buf = ExperienceRecorder("a", 2), buffer(capacity=10)
    record(rec, list(range(25)), end="none")
    buf.add(rec.flush())
    # slots hold steps 15..24; the obs stack ending at step k needs steps k-3..k
    assert len(buf) == 6
    t = all_transitions(buf)
    assert sorted(t) == [18, 19, 20, 21, 22, 23]
    assert min(min(stack_ids(v["image"])) for v in t.values()) == 15


def test_save_load_round_trip(tmp_path):
    rec, buf = ExperienceRecorder("a", 2), buffer(n_step=2)
    record(rec, list(range(12)), rewards=list(range(12)), end="none")
    buf.add(rec.flush())
    buf.save(tmp_path / "r.npz")
    other = buffer(n_step=2)
    other.load(tmp_path / "r.npz")
    a, b = buf.sample(64, np.random.default_rng(3)), other.sample(64, np.random.default_rng(3))
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    # the episode continues after load: the 2-step transition from obs 10 that was still
    # open at save time completes, plus those from obs 11 and 12
    record(rec, [12, 13], rewards=[12, 13], start=False)
    assert other.add(rec.flush()).transitions_added == 3
    assert all_transitions(other)[10]["reward"] == pytest.approx(11 + 0.5 * 12)
    with pytest.raises(ValueError, match="different configuration"):
        buffer(n_step=3).load(tmp_path / "r.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable replay buffer"):
        buffer().load(tmp_path / "bad.npz")


def test_bytes_per_transition_at_84x84():
    buf = ReplayBuffer(ObservationConfig(), ReplayConfig(capacity=100), 2, 0.99)
    assert 84 * 84 <= buf.bytes_per_transition() <= 7500


@pytest.mark.parametrize("field, value, message", [
    ("frames", np.zeros((2, 1, 8, 7), np.uint8), "frames has shape"),
    ("rewards", np.array([0.0, np.nan], np.float32), "rewards contains NaN"),
    ("actions", np.zeros((2, 2), np.float64), "actions has dtype float64"),
    ("sequence", np.arange(2), "sequence has dtype int64"),
    ("episode_id", np.zeros(3, np.uint64), "episode_id has shape"),
])
def test_bad_batches_fail_naming_the_field(field, value, message):
    rec = ExperienceRecorder("a", 2)
    record(rec, [1, 2])
    batch = rec.flush()
    setattr(batch, field, value)
    with pytest.raises(ValueError, match=message):
        buffer().add(batch)
