"""Conversions between td3_driving/msg/ExperienceBatch and the core's StepBatch.

Both directions move whole arrays through the buffer protocol: numpy reads a received
``array.array`` in place (``np.frombuffer``), and outgoing arrays become ``array.array``
via ``frombytes``. Assigning a numpy array element by element would cost ~400 ms for a
5 MB payload (docs/architecture.md); ``array.array`` is also what the generated setters accept
without a per-element check when ROS_PYTHON_CHECK_FIELDS=1.

A received message that disagrees with itself (array lengths vs. the declared sizes)
raises ValueError naming the field; the caller logs it with the topic and drops it.
"""

from __future__ import annotations

import array

import numpy as np

from td3_driving.core.experience import StepBatch
from td3_driving.msg import ExperienceBatch

# field -> (numpy dtype, array.array typecode) of the numeric per-step arrays
_NUMERIC = {
    "sequence": (np.uint64, "Q"), "episode_id": (np.uint64, "Q"),
    "step_index": (np.uint32, "I"), "policy_version": (np.uint32, "I"),
    "frames": (np.uint8, "B"), "vectors": (np.float32, "f"), "actions": (np.float32, "f"),
    "rewards": (np.float32, "f"),
}
_BOOL = ("terminated", "truncated")
_LIMITS = {"frame_height": 2**16 - 1, "frame_width": 2**16 - 1, "frame_channels": 2**8 - 1,
           "vector_size": 2**32 - 1, "action_size": 2**32 - 1}


def _as_array(values: np.ndarray, dtype: type, typecode: str) -> array.array:
    out = array.array(typecode)
    out.frombytes(np.ascontiguousarray(values, dtype=dtype).tobytes())
    return out


def step_batch_to_msg(batch: StepBatch, msg: ExperienceBatch | None = None) -> ExperienceBatch:
    """Fill an ExperienceBatch (a new one unless ``msg`` is given) from ``batch``.

    The caller sets ``msg.header`` (stamp: sim time of the batch's last step). The batch is
    validated first, so a producer learns about a bad batch before it reaches the wire.
    """
    batch.validate()
    msg = ExperienceBatch() if msg is None else msg
    n, c, h, w = batch.frames.shape
    sizes = {"frame_channels": c, "frame_height": h, "frame_width": w,
             "vector_size": batch.vectors.shape[1], "action_size": batch.actions.shape[1]}
    for name, value in sizes.items():
        if value > _LIMITS[name]:
            raise ValueError(f"ExperienceBatch.{name} = {value} does not fit the message "
                             f"field (max {_LIMITS[name]})")
        setattr(msg, name, int(value))
    msg.agent_id = batch.agent_id
    for name, (dtype, code) in _NUMERIC.items():
        setattr(msg, name, _as_array(getattr(batch, name), dtype, code))
    for name in _BOOL:
        setattr(msg, name, getattr(batch, name).tolist())
    return msg


def _numeric(msg: ExperienceBatch, name: str, expected: int) -> np.ndarray:
    dtype, _ = _NUMERIC[name]
    raw = getattr(msg, name)
    # array.array and bytes expose a buffer: no copy, no per-element Python work
    arr = (np.frombuffer(raw, dtype=dtype) if isinstance(raw, (array.array, bytes, bytearray))
           else np.asarray(raw, dtype=dtype))
    if arr.shape[0] != expected:
        raise ValueError(f"field '{name}' has {arr.shape[0]} elements, expected {expected} "
                         f"({_why(name)})")
    return arr


def _why(name: str) -> str:
    return {"frames": "N * frame_channels * frame_height * frame_width",
            "vectors": "N * vector_size", "actions": "N * action_size"}.get(name, "N")


def msg_to_step_batch(msg: ExperienceBatch) -> StepBatch:
    """A StepBatch viewing the message's arrays; ValueError names the inconsistent field.

    Arrays are views of the message's buffers, not copies (the replay buffer copies what
    it keeps).
    Only the message's self-consistency is checked here; ``StepBatch.validate`` with the
    learner's observation config checks shapes and values against what it expects.
    """
    n = len(msg.sequence)
    frame_shape = (msg.frame_channels, msg.frame_height, msg.frame_width)
    k, a = msg.vector_size, msg.action_size
    numeric = {name: _numeric(msg, name, n * size) for name, size in (
        ("sequence", 1), ("episode_id", 1), ("step_index", 1), ("policy_version", 1),
        ("frames", int(np.prod(frame_shape))), ("vectors", k), ("actions", a),
        ("rewards", 1))}
    flags = {}
    for name in _BOOL:
        flags[name] = np.asarray(getattr(msg, name), dtype=bool)
        if flags[name].shape != (n,):
            raise ValueError(f"field '{name}' has {flags[name].size} elements, expected {n} "
                             "(N)")
    return StepBatch(
        agent_id=msg.agent_id,
        sequence=numeric["sequence"], episode_id=numeric["episode_id"],
        step_index=numeric["step_index"], policy_version=numeric["policy_version"],
        frames=numeric["frames"].reshape(n, *frame_shape),
        vectors=numeric["vectors"].reshape(n, k), actions=numeric["actions"].reshape(n, a),
        rewards=numeric["rewards"], terminated=flags["terminated"],
        truncated=flags["truncated"])
