"""Per-step experience in the shape of the replay topic (msg/ExperienceBatch.msg), ROS-free.

Each step carries only what is new at that step: the newest frame, the vehicle vector, the
action that led to it and the reward received on arriving. ``step_index == 0`` is an
episode's first observation (its action and reward are unused); the last step of an
episode has ``terminated`` (no bootstrap) or ``truncated`` (bootstrap from it) set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# one-dimensional per-step fields and their dtypes (msg/ExperienceBatch.msg)
_PER_STEP = {
    "sequence": np.uint64, "episode_id": np.uint64, "step_index": np.uint32,
    "policy_version": np.uint32, "rewards": np.float32, "terminated": np.bool_,
    "truncated": np.bool_,
}


@dataclass
class StepBatch:
    """Consecutive steps of one agent; arrays are per step, N = len(sequence)."""

    agent_id: str
    sequence: np.ndarray        # uint64[N], +1 per step, never reset; a jump is a gap
    episode_id: np.ndarray      # uint64[N]
    step_index: np.ndarray      # uint32[N], 0 = first observation after reset
    policy_version: np.ndarray  # uint32[N], weights version the agent acted with
    frames: np.ndarray          # uint8[N, C, H, W], the newest preprocessed frame
    vectors: np.ndarray         # float32[N, k], normalised vehicle vector
    actions: np.ndarray         # float32[N, a], action that led to this step, in [-1, 1]
    rewards: np.ndarray         # float32[N], reward received on arriving at this step
    terminated: np.ndarray      # bool[N], episode ended by the task: no bootstrap
    truncated: np.ndarray       # bool[N], episode cut by a limit or fault: bootstrap

    def __len__(self) -> int:
        return int(self.sequence.shape[0])

    def validate(self, frame_shape: tuple[int, int, int] | None = None,
                 vector_size: int | None = None, action_size: int | None = None) -> None:
        """Raise ValueError naming the first field with a wrong type, shape or value."""
        where = f"StepBatch from agent {self.agent_id!r}"
        if not isinstance(self.agent_id, str) or not self.agent_id:
            raise ValueError(f"{where}: agent_id must be a non-empty string")
        n = len(self)
        for name, dtype in _PER_STEP.items():
            _check(where, name, getattr(self, name), dtype, (n,))
        _check(where, "frames", self.frames, np.uint8,
               (n, *frame_shape) if frame_shape else None, ndim=4)
        _check(where, "vectors", self.vectors, np.float32,
               (n, vector_size) if vector_size is not None else None, ndim=2)
        _check(where, "actions", self.actions, np.float32,
               (n, action_size) if action_size is not None else None, ndim=2)
        for name in ("frames", "vectors", "actions"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"{where}: {name} has {getattr(self, name).shape[0]} rows "
                                 f"but sequence has {n} steps")
        for name in ("vectors", "actions", "rewards"):
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"{where}: {name} contains NaN or inf; fix the producer "
                                 "(rewards/vectors must be finite)")
        if n and (np.abs(self.actions) > 1.0 + 1e-5).any():
            raise ValueError(f"{where}: actions outside [-1, 1]; send network-space actions, "
                             "not vehicle controls")
        if (self.terminated & self.truncated).any():
            raise ValueError(f"{where}: a step is both terminated and truncated; pick one "
                             "(terminated = no bootstrap)")

    @staticmethod
    def concatenate(batches: list["StepBatch"]) -> "StepBatch":
        """Join batches of the same agent in order."""
        if not batches or len({b.agent_id for b in batches}) != 1:
            raise ValueError("concatenate needs at least one batch, all from one agent")
        fields = ("sequence", "episode_id", "step_index", "policy_version", "frames",
                  "vectors", "actions", "rewards", "terminated", "truncated")
        return StepBatch(batches[0].agent_id,
                         **{f: np.concatenate([getattr(b, f) for b in batches]) for f in fields})


def _check(where: str, name: str, arr: object, dtype: type, shape: tuple | None,
           ndim: int = 1) -> None:
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{where}: {name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.dtype(dtype):
        raise ValueError(f"{where}: {name} has dtype {arr.dtype}, expected "
                         f"{np.dtype(dtype).name}")
    if arr.ndim != ndim or (shape is not None and arr.shape != tuple(shape)):
        expected = shape if shape is not None else f"{ndim} dimensions"
        raise ValueError(f"{where}: {name} has shape {arr.shape}, expected {expected}")


class ExperienceRecorder:
    """Turns an agent's steps into StepBatches with correct sequence/episode bookkeeping.

    Used by agents (ROS or in-process): ``begin_episode`` after each reset, ``step`` after
    each action, ``flush`` whenever a batch should be sent.
    """

    def __init__(self, agent_id: str, action_size: int) -> None:
        self.agent_id = agent_id
        self.action_size = action_size
        self.sequence = 0          # next sequence number; never reset
        self.episode_id = -1
        self.step_index = 0
        self._rows: list[tuple] = []

    def begin_episode(self, frame: np.ndarray | None, vector: np.ndarray,
                      policy_version: int = 0) -> None:
        self.episode_id += 1
        self.step_index = 0
        self._append(frame, vector, np.zeros(self.action_size, np.float32), 0.0, False, False,
                     policy_version)

    def step(self, frame: np.ndarray | None, vector: np.ndarray, action: np.ndarray, reward: float,
             terminated: bool, truncated: bool, policy_version: int = 0) -> None:
        if self.episode_id < 0:
            raise RuntimeError("ExperienceRecorder.step before begin_episode")
        self.step_index += 1
        self._append(frame, vector, action, reward, terminated, truncated, policy_version)

    def _append(self, frame, vector, action, reward, terminated, truncated, version) -> None:
        # frames are [C, H, W]; a state-only task sends an empty [0, 0, 0] frame
        frame = np.zeros((0, 0, 0), np.uint8) if frame is None else np.asarray(frame, np.uint8)
        if frame.ndim == 2:
            frame = frame[None]
        # gymnasium may report both at a time limit that is also a terminal state: the
        # terminal wins, since there is nothing to bootstrap from
        self._rows.append((self.sequence, self.episode_id, self.step_index, version, frame,
                           np.asarray(vector, np.float32), np.asarray(action, np.float32),
                           reward, bool(terminated), bool(truncated) and not terminated))
        self.sequence += 1

    def pending(self) -> int:
        return len(self._rows)

    def truncate_last(self) -> bool:
        """Flag the newest step truncated: its episode was cut from outside (simulator
        restart, shutdown). False if that step was already flushed or is terminal.
        """
        if not self._rows or self._rows[-1][8]:
            return False
        self._rows[-1] = (*self._rows[-1][:9], True)
        return True

    def flush(self, keep_last: bool = False) -> StepBatch | None:
        """The steps recorded since the last flush, or None if there are none.

        ``keep_last`` holds the newest step back, so that :meth:`truncate_last` can still
        flag it if the episode is cut before the next step.
        """
        rows = self._rows[:-1] if keep_last else self._rows
        if not rows:
            return None
        cols = list(zip(*rows))
        self._rows = self._rows[-1:] if keep_last else []
        frames = np.stack(cols[4])
        return StepBatch(
            agent_id=self.agent_id,
            sequence=np.asarray(cols[0], np.uint64), episode_id=np.asarray(cols[1], np.uint64),
            step_index=np.asarray(cols[2], np.uint32),
            policy_version=np.asarray(cols[3], np.uint32), frames=frames,
            vectors=np.stack(cols[5]).reshape(len(cols[5]), -1),
            actions=np.stack(cols[6]).reshape(len(cols[6]), -1),
            rewards=np.asarray(cols[7], np.float32), terminated=np.asarray(cols[8], bool),
            truncated=np.asarray(cols[9], bool))
