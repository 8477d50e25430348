"""Fuzzing the learner's subscriptions: arbitrary field values through its real callbacks.

Every message type the learner subscribes to (ExperienceBatch, EpisodeStats) is generated
with arbitrary values of its fields' wire types, serialised and deserialised as DDS would,
and handed to the node's subscription callback. Properties, per generated message:
- no exception escapes the callback;
- the learner's state is unchanged, or changed exactly as a valid message changes it
  (validity judged here from the message definitions, independently of learner/intake.py);
- the next valid message (from the agent the fuzzer impersonates, and from a new agent) is
  processed normally.
`make test` runs a short sweep; `pytest -m slow` a long one.
"""

import math
import time

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from support.learner import Producer  # noqa: E402
from support.learner_node import make_learner  # noqa: E402

from td3_driving.core.config import LearnerConfig  # noqa: E402
from td3_driving.learner.intake import reward_step_bound  # noqa: E402
from td3_driving.msg import EpisodeStats, ExperienceBatch  # noqa: E402
from td3_driving.ros.experience_msg import step_batch_to_msg  # noqa: E402
from td3_driving.task.config import RewardConfig  # noqa: E402

pytestmark = pytest.mark.ros

FAST, LONG = 200, 3000        # generated messages per type: make test / pytest -m slow
REAL = "hero0"                # the agent whose id the fuzzer impersonates
U64, U32 = 2**64 - 1, 2**32 - 1
FRAME = (1, 16, 16)           # the tiny learner's (support.learner.TINY)
VECTOR, ACTION = 3, 2


@pytest.fixture(scope="module")
def learner(module_graph, tmp_path_factory):
    """One learner node for all examples (no executor spins: callbacks are called)."""
    node = make_learner(module_graph, tmp_path_factory.mktemp("fuzz") / "run",
                        **{"td3.update_to_data": 0.0, "replay.capacity": 100_000})
    node.real = Producer(REAL)
    node.other = 0
    return node


# ---------------------------------------------------------------- generated messages
floats32 = st.floats(width=32)                            # NaN, inf, subnormals included
# any text DDS can carry (UTF-8, no NUL: CDR strings end at the first one)
names = st.sampled_from([REAL, "fuzz"]) | st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300)


def _sized(elements, size):
    return st.lists(elements, min_size=size, max_size=size)


def _mutate(draw, field, value):
    """``value`` with one element, all elements, or its length replaced by anything of the
    field's wire type.
    """
    if field == "agent_id":
        return draw(names)
    if field in ("frame_channels", "frame_height", "frame_width", "vector_size",
                 "action_size"):
        return draw(st.integers(0, {"frame_channels": 255, "frame_height": 65535,
                                    "frame_width": 65535}.get(field, U32)))
    if field == "frames":
        return draw(st.binary(max_size=2000))
    elements = {"sequence": st.integers(0, U64), "episode_id": st.integers(0, U64),
                "step_index": st.integers(0, U32), "policy_version": st.integers(0, U32),
                "terminated": st.booleans(), "truncated": st.booleans()}.get(
        field, floats32 | st.floats(-1e3, 1e3, width=32))   # (finite but out of range too)
    how = draw(st.sampled_from(["one", "one", "all", "length"]))
    if how == "one" and value:
        value = list(value)
        value[draw(st.integers(0, len(value) - 1))] = draw(elements)
        return value
    if how == "all":
        return draw(_sized(elements, len(value)))
    return draw(st.lists(elements, max_size=20))


FIELDS = ("agent_id", "frame_channels", "frame_height", "frame_width", "vector_size",
          "action_size", "sequence", "episode_id", "step_index", "policy_version", "frames",
          "vectors", "actions", "rewards", "terminated", "truncated")
# the fields whose ranges only the configuration tells (not the message itself) come up
# three times as often
WEIGHTED = FIELDS + ("sequence", "rewards", "actions", "vectors") * 2


@st.composite
def experience_batches(draw, reward_bound):
    """A batch a real agent could send, with up to three fields replaced by anything."""
    n = draw(st.integers(0, 4))
    start = draw(st.integers(0, 200_000) | st.integers(0, U64 - n))
    ends = draw(_sized(st.sampled_from([(False, False), (True, False), (False, True)]), n))
    values = {
        "agent_id": draw(st.sampled_from([REAL, "fuzz"])),
        "frame_channels": FRAME[0], "frame_height": FRAME[1], "frame_width": FRAME[2],
        "vector_size": VECTOR, "action_size": ACTION,
        "sequence": list(range(start, start + n)),
        "episode_id": sorted(draw(_sized(st.integers(0, 50), n))),
        "step_index": draw(_sized(st.integers(0, 300), n)),
        "policy_version": draw(_sized(st.integers(0, 10), n)),
        "frames": draw(st.binary(min_size=n * 256, max_size=n * 256)),
        "vectors": draw(_sized(st.floats(-1e6, 1e6, width=32), n * VECTOR)),
        "actions": draw(_sized(st.floats(-1, 1, width=32), n * ACTION)),
        "rewards": draw(_sized(st.floats(-1.0, 1.0).map(
            lambda x: float(np.float32(x * reward_bound * (1 - 1e-6)))), n)),
        "terminated": [t for t, _ in ends], "truncated": [u for _, u in ends]}
    for field in draw(st.lists(st.sampled_from(WEIGHTED), max_size=2, unique=True)):
        values[field] = _mutate(draw, field, values[field])
    msg = ExperienceBatch(**{k: v for k, v in values.items() if k != "frames"})
    msg.frames = values["frames"]
    return deserialize_message(serialize_message(msg), ExperienceBatch)   # as DDS delivers


episode_stats = st.builds(
    EpisodeStats, agent_id=names,
    episode_id=st.integers(0, U64), policy_version=st.integers(0, U32),
    evaluation=st.booleans(), episode_return=st.floats() | st.floats(-50, 50),
    length=st.integers(0, U32), termination_reason=st.integers(0, 255),
    native_score=st.floats(), route_completion=st.floats(width=32),
    sim_time=st.floats())


# ---------------------------------------------------------------- the oracle
def valid_batch(msg, learner) -> bool:
    """Whether the message is one a real agent of this learner could send (from the
    message definitions and the learner's configuration alone).
    """
    n = len(msg.sequence)
    if not msg.agent_id or len(msg.agent_id) > 256 or not msg.agent_id.isprintable():
        return False
    if (msg.frame_channels, msg.frame_height, msg.frame_width) != FRAME \
            or (msg.vector_size, msg.action_size) != (VECTOR, ACTION):
        return False
    sizes = {"episode_id": n, "step_index": n, "policy_version": n, "frames": n * 256,
             "vectors": n * VECTOR, "actions": n * ACTION, "rewards": n, "terminated": n,
             "truncated": n}
    if any(len(getattr(msg, f)) != size for f, size in sizes.items()):
        return False
    seq = [int(s) for s in msg.sequence]
    if any(s > 2**63 - 1 for s in seq) or any(b != a + 1 for a, b in zip(seq, seq[1:])):
        return False
    if any(int(e) > 2**63 - 1 for e in msg.episode_id) \
            or any(b < a for a, b in zip(msg.episode_id, msg.episode_id[1:])):
        return False
    floats = [*msg.vectors, *msg.actions, *msg.rewards]
    if not all(math.isfinite(v) for v in floats) or any(abs(v) > 1 + 1e-5 for v in msg.actions):
        return False
    if any(abs(r) > learner.learner.reward_bound * (1 + 1e-5) + 1e-5 for r in msg.rewards):
        return False
    if any(a and b for a, b in zip(msg.terminated, msg.truncated)):
        return False
    known = learner.learner.sequences.last.get(msg.agent_id)
    if n and known:   # no agent makes more than max_agent_steps_per_s (+ a minute's grace)
        rate = learner.run.max_agent_steps_per_s
        return seq[-1] - known[0] <= n + rate * (time.time() - known[1] + 60.0)
    return True


def snapshot(learner) -> dict:
    core = learner.learner
    return {"total": core.buffer.total, "received": core.counts["steps_received"],
            "agents": {k: v.last_seq for k, v in core.buffer.agents.items()},
            "guard": dict(core.sequences.last), "episodes": core.episodes.count,
            "returns": list(core.episodes.returns)}


def next_valid_batches_are_processed(learner) -> None:
    """The impersonated agent's next batch, and a new agent's, are stored in full."""
    assert learner.unexpected_errors == 0   # every refusal came from a check, not a crash
    core = learner.learner
    learner.other += 1
    newest = core.sequences.last.get(REAL, (-1, 0.0))[0]
    if newest >= learner.real.rec.sequence:
        # a valid batch under its id moved it on (a plausible jump is believed): follow
        learner.real.rec.sequence = newest + 1
    for producer in (learner.real, Producer(f"new{learner.other}")):
        batch = producer.batch(3)
        before = core.counts["steps_received"]
        learner._on_batch(deserialize_message(serialize_message(step_batch_to_msg(batch)),
                                              ExperienceBatch))
        assert core.counts["steps_received"] == before + 3, producer.rec.agent_id


# ---------------------------------------------------------------- the properties
def check_batch(learner, msg) -> None:
    before, dropped = snapshot(learner), learner.learner.counts["batches_dropped"]
    valid = valid_batch(msg, learner)
    learner._on_batch(msg)                         # raises nothing, whatever it got
    after = snapshot(learner)
    if not valid:
        assert after == before, msg
        assert learner.learner.counts["batches_dropped"] == dropped + 1
    elif after != before:
        new = after["total"] - before["total"]     # (duplicates come first: new = the tail)
        stored = learner.learner.buffer.rewards[(np.arange(new) + before["total"])
                                                % learner.learner.buffer.config.capacity]
        np.testing.assert_array_equal(stored, np.asarray(msg.rewards, np.float32)[
            len(msg.rewards) - new:])
    else:
        assert not len(msg.sequence), msg          # valid and unchanged: nothing in it
    next_valid_batches_are_processed(learner)


def check_episode(learner, msg) -> None:
    before = snapshot(learner)
    refused = learner.learner.counts["episodes_refused"]
    learner._on_episode(msg)
    after = snapshot(learner)
    bound = learner.learner.reward_bound * max(msg.length, 1) * (1 + 1e-5) + 1e-5
    valid = (bool(msg.agent_id) and len(msg.agent_id) <= 256 and msg.agent_id.isprintable()
             and not any(math.isinf(v) for v in (msg.episode_return, msg.native_score,
                                                 msg.route_completion))
             and not abs(msg.episode_return) > bound
             and (math.isnan(msg.route_completion) or 0 <= msg.route_completion <= 1))
    if valid:
        assert after["episodes"] == before["episodes"] + 1
    else:
        assert after == before and learner.learner.counts["episodes_refused"] == refused + 1
    next_valid_batches_are_processed(learner)


# the learner's: reward.* and td3.gamma defaults
BOUND = reward_step_bound(RewardConfig(), LearnerConfig().td3.gamma)
_FAST = settings(max_examples=FAST, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
_LONG = settings(_FAST, max_examples=LONG, derandomize=False)


@_FAST
@given(msg=experience_batches(BOUND))
def test_experience_batches_never_escape_and_never_corrupt(learner, msg):
    check_batch(learner, msg)


@_FAST
@given(msg=episode_stats)
def test_episode_statistics_never_escape_and_never_corrupt(learner, msg):
    check_episode(learner, msg)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@_LONG
@given(msg=experience_batches(BOUND))
def test_experience_batches_long_sweep(learner, msg):
    check_batch(learner, msg)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@_LONG
@given(msg=episode_stats)
def test_episode_statistics_long_sweep(learner, msg):
    check_episode(learner, msg)
