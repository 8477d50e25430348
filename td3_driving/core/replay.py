"""Replay buffer that stores each frame once and rebuilds stacks and transitions on sampling.

Steps arrive as :class:`StepBatch` (the replay topic's shape), interleaved from many agents.
Each slot of a ring holds one step: its newest frame, vector, the action that led to it and
the reward received. A step links to its predecessor when it is the next sequence number of
the same agent and episode; stacks follow these links and never cross an episode start or a
sequence gap (they repeat the oldest frame there, as FrameStack does at reset).

A transition is keyed by its first step after the observation: obs = stack at the
predecessor, action/reward of the key step, next obs = stack at the end step (n steps later
or the episode's last step). It is valid while the oldest frame it needs has not been
overwritten; the ring is FIFO, so that is one comparison of insertion numbers.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from td3_driving.core.config import ObservationConfig, ReplayConfig
from td3_driving.core.config_base import to_dict
from td3_driving.core.experience import StepBatch
from td3_driving.core.files import atomic_write

_FORMAT = "td3_driving.replay/1"


@dataclass
class AddReport:
    """What one :meth:`ReplayBuffer.add` did; nothing is dropped silently."""

    steps_added: int = 0
    transitions_added: int = 0
    dropped: dict[str, int] = field(default_factory=dict)        # duplicate / out of order
    gaps: dict[str, int] = field(default_factory=dict)           # sequence jumps (events)
    missing_steps: dict[str, int] = field(default_factory=dict)  # steps lost in the jumps
    broken_links: dict[str, int] = field(default_factory=dict)   # consecutive sequence, but
    # episode id / step index inconsistent, a step after a terminal, or a new episode whose
    # predecessor was never flagged terminated/truncated: the chain restarted there

    def count(self, which: dict[str, int], agent: str, n: int = 1) -> None:
        which[agent] = which.get(agent, 0) + n


class _Agent:
    """Linking state of one producer."""

    def __init__(self) -> None:
        self.last_seq = -1
        self.last_episode = -1
        self.last_step_index = -1
        self.last_terminal = False
        self.chain: deque = deque()    # (slot, insert_no) of the current chain, newest last
        self.pending: list = []        # n-step transitions awaiting their end: [key, no, R, m]

    def to_json(self) -> dict:
        return {k: (list(map(list, v)) if isinstance(v, (deque, list)) else v)
                for k, v in vars(self).items()}

    @classmethod
    def from_json(cls, data: dict) -> "_Agent":
        agent = cls()
        for k, v in data.items():
            setattr(agent, k, deque(map(tuple, v)) if k == "chain" else v)
        return agent


class ReplayBuffer:
    """Ring of per-step slots; transitions and frame stacks are rebuilt when sampled.

    Not thread-safe: callers serialise add/sample/save (sampled batches are copies, so
    they may be used outside the lock).
    """

    def __init__(self, obs: ObservationConfig, replay: ReplayConfig, action_size: int,
                 gamma: float) -> None:
        self.obs, self.config, self.gamma = obs, replay, float(gamma)
        self.action_size = action_size
        self.frame_shape = (obs.channels, obs.height, obs.width) if obs.image else (0, 0, 0)
        cap = replay.capacity
        # frames are kept height x width x channels: a stack gathered from them is already
        # in the channels-last layout the convolutions run in
        c, h, w = self.frame_shape
        self.frames = np.zeros((cap, h, w, c), np.uint8) if obs.image else None
        self.vectors = np.zeros((cap, obs.vector_size), np.float32)
        self.actions = np.zeros((cap, action_size), np.float32)
        self.rewards = np.zeros(cap, np.float32)
        self.terminated = np.zeros(cap, bool)
        self.truncated = np.zeros(cap, bool)
        self.policy_version = np.zeros(cap, np.uint32)
        self.prev = np.full(cap, -1, np.int32)          # predecessor slot
        self.depth = np.zeros(cap, np.uint8)            # predecessors the stack may use
        self.insert_no = np.full(cap, -1, np.int64)     # global insertion counter
        self.need_no = np.full(cap, -1, np.int64)       # oldest insertion a transition needs
        self.t_end = np.full(cap, -1, np.int32)         # end slot; -1 = no transition
        self.t_reward = np.zeros(cap, np.float32)       # discounted n-step reward sum
        self.t_len = np.zeros(cap, np.uint8)            # steps m in it: discount gamma**m
        self.total = 0                                  # steps ever inserted
        self.agents: dict[str, _Agent] = {}

    # ------------------------------------------------------------------ inserting
    def add(self, batch: StepBatch) -> AddReport:
        batch.validate(self.frame_shape, self.obs.vector_size, self.action_size)
        report = AddReport()
        name = batch.agent_id
        agent = self.agents.setdefault(name, _Agent())
        for i in range(len(batch)):
            seq = int(batch.sequence[i])
            if seq <= agent.last_seq:
                report.count(report.dropped, name)
                continue
            linked = self._links(agent, batch, i, seq, report)
            if not linked:
                self._close_pending(agent, report)
                agent.chain.clear()
            slot = self._write(batch, i, agent, linked)
            report.steps_added += 1
            if linked:
                self._extend_pending(agent, slot, batch, i, report)
            agent.chain.append((slot, int(self.insert_no[slot])))
            while len(agent.chain) > self.obs.stack:
                agent.chain.popleft()
            agent.last_seq, agent.last_episode = seq, int(batch.episode_id[i])
            agent.last_step_index = int(batch.step_index[i])
            agent.last_terminal = bool(batch.terminated[i] or batch.truncated[i])
            if agent.last_terminal:
                self._close_pending(agent, report)
        return report

    def _links(self, agent: _Agent, batch: StepBatch, i: int, seq: int,
               report: AddReport) -> bool:
        """Whether step i continues the agent's current chain (else it starts a new one)."""
        name, step_index = batch.agent_id, int(batch.step_index[i])
        if agent.last_seq >= 0 and seq != agent.last_seq + 1:
            report.count(report.gaps, name)
            report.count(report.missing_steps, name, seq - agent.last_seq - 1)
            return False
        if agent.last_seq < 0:
            return False
        if step_index == 0:
            if not agent.last_terminal:   # the previous episode's end was never flagged
                report.count(report.broken_links, name)
            return False
        consistent = (int(batch.episode_id[i]) == agent.last_episode
                      and step_index == agent.last_step_index + 1 and not agent.last_terminal)
        if not consistent:
            report.count(report.broken_links, name)
        # the predecessor must still be in the ring (a tiny buffer may have evicted it)
        return consistent and bool(agent.chain) and self._present(agent.chain[-1][1])

    def _present(self, insert_no: int) -> bool:
        return insert_no >= self.total - self.config.capacity

    def _write(self, batch: StepBatch, i: int, agent: _Agent, linked: bool) -> int:
        slot = self.total % self.config.capacity
        if self.frames is not None:
            self.frames[slot] = batch.frames[i].transpose(1, 2, 0)
        self.vectors[slot] = batch.vectors[i]
        self.actions[slot] = batch.actions[i]
        self.rewards[slot] = batch.rewards[i]
        self.terminated[slot] = batch.terminated[i]
        self.truncated[slot] = batch.truncated[i]
        self.policy_version[slot] = batch.policy_version[i]
        self.insert_no[slot] = self.total
        self.t_end[slot] = -1
        if linked:
            self.prev[slot] = agent.chain[-1][0]
            self.depth[slot] = min(len(agent.chain), self.obs.stack - 1)
            # the obs stack ends at the predecessor and reaches back at most stack-1 steps
            self.need_no[slot] = agent.chain[-min(len(agent.chain), self.obs.stack)][1]
        else:
            self.prev[slot], self.depth[slot], self.need_no[slot] = -1, 0, -1
        self.total += 1
        return slot

    def _extend_pending(self, agent: _Agent, slot: int, batch: StepBatch, i: int,
                        report: AddReport) -> None:
        """Step ``slot`` starts one transition and adds its reward to the open ones."""
        reward = float(batch.rewards[i])
        for p in agent.pending:
            p[2] += self.gamma ** p[3] * reward
            p[3] += 1
        agent.pending.append([slot, int(self.insert_no[slot]), reward, 1])
        while agent.pending and agent.pending[0][3] >= self.config.n_step:
            self._complete(agent.pending.pop(0), slot, report)

    def _close_pending(self, agent: _Agent, report: AddReport) -> None:
        """End the open transitions at the chain's last step: a terminal, or (at a gap or
        an episode left without a final flag) a shorter return that bootstraps there.
        """
        if agent.pending:
            end = agent.chain[-1][0]
            for p in agent.pending:
                self._complete(p, end, report)
            agent.pending = []

    def _complete(self, pending: list, end: int, report: AddReport) -> None:
        key, insert_no, reward, length = pending
        if self.insert_no[key] != insert_no or not self._present(insert_no):
            return  # overwritten before its return was complete (capacity < n_step)
        self.t_end[key], self.t_reward[key], self.t_len[key] = end, reward, length
        report.transitions_added += 1

    # ------------------------------------------------------------------ sampling
    def _valid(self, slots: np.ndarray) -> np.ndarray:
        return (self.t_end[slots] >= 0) & (self.need_no[slots] >= self.total
                                           - self.config.capacity)

    def __len__(self) -> int:
        """Transitions that can be sampled now."""
        return int(np.count_nonzero(self._valid(np.arange(self.size))))

    @property
    def size(self) -> int:
        """Slots holding a step."""
        return min(self.total, self.config.capacity)

    def fill(self) -> float:
        return self.size / self.config.capacity

    def bytes_per_transition(self) -> float:
        """Bytes of storage per slot (one step, one transition at most)."""
        arrays = [a for a in vars(self).values() if isinstance(a, np.ndarray)]
        return sum(a.nbytes for a in arrays) / self.config.capacity

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Uniform over valid transitions, with replacement, as CPU tensors.

        Keys: image / next_image uint8 [B, stack*C, H, W] (channels-last in memory, the
        layout the convolutions run in), vector / next_vector, action, reward (n-step sum),
        discount (gamma**m), terminated (1.0 = no bootstrap).
        """
        keys = self._sample_keys(batch_size, rng)
        obs_end, next_end = self.prev[keys], self.t_end[keys]
        length = self.t_len[keys].astype(np.float32)
        out = {
            "vector": self.vectors[obs_end], "next_vector": self.vectors[next_end],
            "action": self.actions[keys], "reward": self.t_reward[keys],
            "discount": np.power(np.float32(self.gamma), length, dtype=np.float32),
            # only a termination stops the bootstrap; a truncated end is bootstrapped from
            "terminated": self.terminated[next_end].astype(np.float32),
        }
        if self.frames is not None:
            out["image"] = self._stacks(obs_end)
            out["next_image"] = self._stacks(next_end)
        return {k: (torch.from_numpy(v).permute(0, 3, 1, 2) if k.endswith("image") else
                    torch.from_numpy(np.ascontiguousarray(v))) for k, v in out.items()}

    def _sample_keys(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        if self.total == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty")
        # rejection sampling is uniform over the valid slots; most slots are valid
        candidates = rng.integers(0, self.size, size=2 * batch_size + 16)
        keys = candidates[self._valid(candidates)]
        if keys.shape[0] >= batch_size:
            return keys[:batch_size]
        valid = np.flatnonzero(self._valid(np.arange(self.size)))
        if valid.shape[0] == 0:
            raise ValueError("ReplayBuffer.sample: no complete transition yet (every episode "
                             "needs at least two consecutive steps)")
        return valid[rng.integers(0, valid.shape[0], size=batch_size)]

    def _stacks(self, ends: np.ndarray) -> np.ndarray:
        """uint8 [B, H, W, stack * C] (channels last), oldest frame first, padded with the
        oldest valid frame where the chain starts (episode start or gap).
        """
        assert self.frames is not None   # only image observations have frames to stack
        s, (c, h, w) = self.obs.stack, self.frame_shape
        out = np.empty((ends.shape[0], h, w, s * c), np.uint8)
        cur, hops = ends, self.depth[ends]
        for k in range(s):
            if k:
                cur = np.where(hops >= k, self.prev[cur], cur)
            out[..., (s - 1 - k) * c:(s - k) * c] = self.frames[cur]
        return out

    # ------------------------------------------------------------------ persistence
    def _meta(self) -> dict:
        return {"format": _FORMAT, "observation": to_dict(self.obs),
                "replay": to_dict(self.config), "action_size": self.action_size,
                "gamma": self.gamma}

    def save(self, path: str | Path) -> None:
        """Write an .npz (no pickle) atomically."""
        path = Path(path)
        arrays: dict[str, Any] = {k: v for k, v in vars(self).items()
                                  if isinstance(v, np.ndarray)}
        state = {"meta": self._meta(), "total": self.total,
                 "agents": {n: a.to_json() for n, a in self.agents.items()}}
        atomic_write(path, lambda f: np.savez(f, state_json=np.array(json.dumps(state)),
                                              **arrays))

    def load(self, path: str | Path) -> None:
        """Restore a buffer written by :meth:`save` with the same configuration."""
        try:
            with np.load(path, allow_pickle=False) as data:
                state = json.loads(str(data["state_json"]))
                arrays = {k: data[k] for k in data.files if k != "state_json"}
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: not a readable replay buffer file ({exc})") from None
        if state["meta"] != self._meta():
            raise ValueError(f"{path}: replay buffer was saved with a different configuration"
                             f" {state['meta']}, this buffer has {self._meta()}")
        for name, arr in arrays.items():
            setattr(self, name, arr)
        self.total = int(state["total"])
        self.agents = {n: _Agent.from_json(a) for n, a in state["agents"].items()}
