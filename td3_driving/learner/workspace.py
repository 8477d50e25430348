"""The learner's workspace, ROS-free: replay buffer + TD3 agent + schedules + run files.

drqv2's split: the TD3Agent only updates; this workspace owns the loop around it (how many
updates may run, sampling, checkpoints, the policy artifact, TensorBoard, results.json).
It is thread-safe for one receiving thread, one training thread and one reporting thread:
the ROS node calls :meth:`receive` from its subscription, :meth:`train` when data arrived
and :meth:`status` / :meth:`flush_metrics` from its status timer. What it
receives is checked completely before anything is stored (learner/reception.py).
"""

from __future__ import annotations

import errno
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from td3_driving.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import ConfigError, to_dict
from td3_driving.core.diagnostics import DivergenceError
from td3_driving.core.experience import StepBatch
from td3_driving.core.policy import actor_payload, export_policy
from td3_driving.core.replay import AddReport, ReplayBuffer
from td3_driving.core.td3 import TD3Agent
from td3_driving.learner.config import LearnerNodeConfig
from td3_driving.learner.intake import EpisodeSummary
from td3_driving.learner.metrics import (
    MetricsAverager,
    RateMeter,
    finite_or_none,
    tensorboard_tag,
)
from td3_driving.learner.reception import Reception
from td3_driving.learner.run_files import RunDir
from td3_driving.learner.schedules import (
    UNLIMITED,
    CheckpointSchedule,
    UpdateToDataLimiter,
    WeightsSchedule,
    actor_updates,
)
from td3_driving.learner.threads import ThreadFitter


class RewardMismatch(ConfigError):
    """The checkpoint was trained on another reward than the one configured now."""


@dataclass(frozen=True)
class WeightsPayload:
    """One publication of the actor (fields of msg/PolicyWeights)."""

    version: int
    learner_step: int
    architecture: str
    data: bytes
    sha256: str


class Learner:
    """Replay buffer, TD3 agent, update-to-data limiter, checkpoints and run files.

    ``reward_bound`` is the largest |reward| of one step of the agents' reward
    (learner/intake.py reward_step_bound): the watchdog bounds Q with it and a received
    reward beyond it is refused. ``threads``, where given, sets the update's torch threads
    at the start of each training slice (learner/threads.py).
    """

    def __init__(self, config: LearnerConfig, run: LearnerNodeConfig, logger: Any,
                 reward_bound: float, threads: ThreadFitter | None = None) -> None:
        self.config, self.run, self.log = config, run, logger
        self.threads = threads   # torch_threads 0: the count follows the idle cores
        self.reward_bound = float(reward_bound)
        self.dir = RunDir(run.run_dir)
        latest = self.dir.latest_checkpoint()
        if run.resume and latest is None:
            raise ConfigError(f"resume: true but {self.dir.checkpoints} holds no checkpoint")
        if not run.resume and latest is not None:
            raise ConfigError(f"run_dir {self.dir.root} already holds checkpoints ({latest.name})"
                              "; pass resume:=true to continue it or choose a new run_dir")
        self.dir.create()
        self.agent = TD3Agent(config, reward_bound=self.reward_bound)
        self.buffer = ReplayBuffer(config.observation, config.replay, config.action_size,
                                   config.td3.gamma)
        self.rng = np.random.default_rng(config.seed)   # replay sampling
        self.limiter = UpdateToDataLimiter(config.td3.update_to_data,
                                           config.td3.learning_starts,
                                           run.backpressure_slack_steps)
        self.reception = Reception(self.buffer, config.observation.vector_size,
                                   config.action_size, self.reward_bound,
                                   run.max_agent_steps_per_s)
        self.weights_version = 0
        self.weights = WeightsSchedule(run.weights_period_s)
        self.diverged: str | None = None
        self.resumed_from: str | None = None
        self.report: dict[str, float] = {}   # means of the last diagnostics period
        self._buffer_lock = threading.Lock()   # reception vs. sampling and saving
        self._train_lock = threading.Lock()    # a training slice vs. close()
        self._metrics_lock = threading.Lock()  # the training thread adds, reporting pops
        self._stopping = self._closed = False
        self._metrics, self._rate = MetricsAverager(), RateMeter()
        self._start = self._last_report = time.monotonic()
        if run.resume:
            self._resume()
        self._session_updates = self.updates
        self.checkpoints = CheckpointSchedule(run.checkpoint_period_updates,
                                              run.checkpoint_period_s, self._start, self.updates)
        self.writer = None
        if run.tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # heavy import, only if used
            self.writer = SummaryWriter(str(self.dir.tensorboard))

    # what was received, as the reception counted it
    counts = property(lambda self: self.reception.counts)
    refusals = property(lambda self: self.reception.refusals)
    sequences = property(lambda self: self.reception.sequences)
    lag = property(lambda self: self.reception.lag)
    episodes = property(lambda self: self.reception.episodes)

    @property
    def updates(self) -> int:
        """TD3 (critic) updates done, across resumes: the learner step."""
        return self.agent.iteration

    # ------------------------------------------------------------------ experience
    def receive(self, batch: StepBatch, now: float | None = None) -> AddReport:
        """Store a batch; ValueError (and nothing stored, nothing changed) if it does not
        fit the config (intake.RefusedMessage names the field). ``now``: wall-clock seconds.
        """
        now = time.time() if now is None else now
        with self._buffer_lock:
            return self.reception.receive(batch, now, self.weights_version)

    def refused(self, agent_id: str, steps: int, field: str = "message",
                leaves_gap: bool = True) -> None:
        """Count a batch that could not be used at all. ``leaves_gap``: its sequence numbers
        were plausible, so the agent's next batch will show them as a gap (counted once).
        """
        with self._buffer_lock:
            self.reception.refused(agent_id, steps, field, leaves_gap)

    def episode(self, episode: EpisodeSummary) -> None:
        """Record one finished episode; RefusedMessage (counted, nothing kept) if it cannot
        be a real one.
        """
        with self._buffer_lock:
            self.reception.episode(episode)
        if self.writer is None:
            return
        step = self.counts["steps_received"]
        prefix = "eval" if episode.evaluation else "charts"
        # x axis: environment steps received, as cleanrl's global_step
        for name, value in (("episode_return", episode.episode_return),
                            ("episode_length", episode.length),
                            ("native_score", episode.native_score),
                            ("route_completion", episode.route_completion)):
            if np.isfinite(value):
                self.writer.add_scalar(f"{prefix}/{name}", value, step)

    # ------------------------------------------------------------------ training
    def updates_due(self) -> int:
        """Updates the UTD ratio allows now (0 during the warm-up)."""
        with self._buffer_lock:
            return self.limiter.updates_due(self.counts["steps_received"], self.updates)

    def train(self) -> int:
        """Run the updates the UTD ratio allows now, for at most ``train_slice_s``."""
        with self._train_lock:
            if self._closed or self.diverged:
                return 0
            due = self.updates_due()
            fitter = self.threads
            if fitter is not None and due and fitter.poll(time.monotonic()) is not None:
                self.log.info(f"torch threads: {fitter.threads} (other processes kept "
                              f"{fitter.other_cores:.2f} of {fitter.cores} cores busy over "
                              f"the last {fitter.period_s:g} s)")
            deadline = time.monotonic() + self.run.train_slice_s
            done = 0
            # at least one update per call, however late this thread was scheduled
            while done < due and not self._stopping and (done == 0
                                                         or time.monotonic() < deadline):
                with self._buffer_lock:
                    try:
                        batch = self.buffer.sample(self.config.td3.batch_size, self.rng)
                    except ValueError:   # no complete transition yet
                        break
                    fill = self.buffer.fill()
                try:
                    metrics = self.agent.update(batch, fill)
                except DivergenceError as exc:
                    self._diverge(str(exc))
                    break
                with self._metrics_lock:
                    self._metrics.add(metrics)
                done += 1
            now = time.monotonic()
            if done and self.checkpoints.due(now, self.updates):
                self._checkpoint_logged()
            return done

    def _diverge(self, reason: str) -> None:
        last = self.dir.latest_checkpoint()
        self.diverged = (f"{reason} (at update {self.updates}); last healthy checkpoint: "
                         f"{last or 'none'}")
        self.log.error(f"{self.diverged}. Training stopped for good; weights of this update "
                       "are never published, agents are released (steps_allowed unlimited) "
                       "and told why (LearnerStatus.stop_reason)")
        self.write_results(f"diverged: {reason}")

    def weights_payload(self, wait: bool = True) -> WeightsPayload | None:
        """The actor to publish now, or None (rate limit, unchanged, diverged, not finite).

        ``wait`` False: None at once while a training slice runs (its thread publishes
        after the slice).
        """
        if not self._train_lock.acquire(blocking=wait):
            return None
        try:
            if self._closed or self.diverged:
                return None
            now, actor = time.monotonic(), actor_updates(self.updates,
                                                         self.config.td3.policy_delay)
            if not self.weights.due(now, actor):
                return None
            if not all(torch.isfinite(p).all() for p in self.agent.actor.parameters()):
                self.log.error("actor weights are not finite; not publishing them")
                return None
            architecture, data = actor_payload(self.agent)
            self.weights_version += 1
            self.weights.published(now, actor)
            return WeightsPayload(self.weights_version, self.updates, architecture, data,
                                  hashlib.sha256(data).hexdigest())
        finally:
            self._train_lock.release()

    def flush_metrics(self) -> dict[str, float] | None:
        """Every ``diagnostics_period_s``: means since the last call, also to TensorBoard."""
        now = time.monotonic()
        if now - self._last_report < self.run.diagnostics_period_s:
            return None
        self._last_report = now
        with self._metrics_lock:
            means = self._metrics.pop()
        # keep the newest value of keys this period lacks (actor metrics: every policy_delay)
        self.report = {**self.report, **means}
        if self.writer is not None:
            for key, value in means.items():
                self.writer.add_scalar(tensorboard_tag(key), value, self.updates)
            for key, value in self.status().items():
                if isinstance(value, (int, float)):   # (stop_reason is text)
                    self.writer.add_scalar(f"charts/{key}", float(value), self.updates)
        return self.report

    def status(self) -> dict[str, Any]:
        """Fields of msg/LearnerStatus (updates_per_second over the calls of this method)."""
        with self._buffer_lock:
            # sampled here, at the status period, so that the rate falls to 0 when training
            # stops (train() only runs when there is something to do)
            self._rate.add(time.monotonic(), self.updates)
            received = self.counts["steps_received"]
            buffer_size = len(self.buffer)
            dropped = self.counts["steps_dropped"]
            refused = sum(self.refusals.values())
            lag_median, lag_p95 = self.lag.percentiles()
        # a learner that stopped for good holds no agent back: they are told why instead
        allowed = UNLIMITED if self.diverged else self.limiter.steps_allowed(self.updates)
        return {"learner_step": self.updates, "weights_version": self.weights_version,
                "steps_received": received, "steps_allowed": allowed,
                "buffer_size": buffer_size, "steps_dropped": dropped,
                "messages_refused": refused,
                "update_to_data": self.limiter.measured_ratio(received, self.updates),
                "updates_per_second": self._rate.rate(),
                "training": self.limiter.training(received) and self.diverged is None,
                "reward_bound": self.reward_bound,
                "policy_lag_median": lag_median, "policy_lag_p95": lag_p95,
                "torch_threads": self.threads.threads if self.threads is not None
                else self.config.torch_threads,
                "stop_reason": f"diverged: {self.diverged}" if self.diverged else ""}

    # ------------------------------------------------------------------ persistence
    def save_checkpoint(self) -> str:
        """Write a checkpoint (OSError, e.g. disk full, leaves the previous ones intact)."""
        path = self.dir.checkpoint_path(self.updates)
        with_buffer = self.run.save_buffer_in_checkpoint
        with self._buffer_lock:
            extra = {**self.reception.state(), "weights_version": self.weights_version,
                     "limiter": self.limiter.state(), "buffer_saved": with_buffer,
                     "reward_bound": self.reward_bound}
            save_checkpoint(path, self.agent, self.buffer if with_buffer else None, self.rng,
                            extra)
        self.dir.prune(self.run.keep_checkpoints)
        self.checkpoints.done(time.monotonic(), self.updates)
        return str(path)

    def _checkpoint_logged(self) -> None:
        try:
            path = self.save_checkpoint()
        except OSError as exc:
            # training goes on: a full or read-only disk must not cost the run
            self.checkpoints.done(time.monotonic(), self.updates)   # retry next period
            self.log.error(f"{self.checkpoint_failure(exc)}; training continues and retries "
                           "at the next checkpoint period")
            return
        self.log.info(f"checkpoint {path} (update {self.updates})")

    def checkpoint_failure(self, exc: OSError) -> str:
        """What went wrong writing a run file, and what is intact."""
        name = errno.errorcode.get(exc.errno, "?") if exc.errno else "?"
        return (f"cannot write checkpoint {self.dir.checkpoint_path(self.updates)} "
                f"({name}: {exc.strerror or exc}); the previous checkpoint "
                f"{self.dir.latest_checkpoint() or '(none)'} is intact. Free disk space or "
                f"make {self.dir.root} writable")

    def _resume(self) -> None:
        """Load the newest checkpoint that loads; older ones if newer ones are damaged."""
        failures = []
        for path in reversed(self.dir.list_checkpoints()):
            try:
                self._resume_from(path)
            except RewardMismatch:
                raise   # an older checkpoint of the same run has the same reward
            except ConfigError as exc:
                failures.append(str(exc))
                self.log.error(f"{exc}; trying an older checkpoint")
                continue
            if failures:
                self.log.warning(f"resumed from {path}, skipping {len(failures)} newer "
                                 "checkpoint(s) that did not load")
            return
        raise ConfigError("resume: no checkpoint in "
                          f"{self.dir.checkpoints} loads: " + " | ".join(failures))

    def _resume_from(self, path) -> None:
        saved_buffer = self.dir.replay_path(path).is_file()
        try:
            extra = load_checkpoint(path, self.agent, self.buffer if saved_buffer else None,
                                    self.rng)
        except (CheckpointError, ValueError) as exc:
            raise ConfigError(f"resume from {path}: {exc}") from None
        saved_bound = extra.get("reward_bound")
        if saved_bound is not None and abs(saved_bound - self.reward_bound) > 1e-9 * max(
                1.0, abs(saved_bound)):
            raise RewardMismatch(
                f"resume from {path}: the run was trained with a reward whose step bound is "
                f"{saved_bound:.6g}, but the reward.* parameters now give {self.reward_bound:.6g}"
                "; its replay buffer and Q values follow the old reward. Use the reward.* "
                "parameters it was trained with, or start a new run_dir")
        self.reception.load_state(extra)
        self.weights_version = int(extra.get("weights_version", 0))
        self.limiter.load_state(extra["limiter"])
        if saved_buffer:
            # agents may have restarted and count sequences from 0 again: start new chains
            self.buffer.agents.clear()
        else:   # an empty buffer: warm up again before updating
            self.limiter.restart(self.counts["steps_received"], self.updates)
        # agents start with random actions: give them the resumed actor right away
        actor = actor_updates(self.updates, self.config.td3.policy_delay)
        self.weights.last_actor_updates = actor - 1 if actor > 0 else 0
        self.resumed_from = str(path)
        self.log.info(f"resumed from {path}: update {self.updates}, weights version "
                      f"{self.weights_version}, {self.counts['steps_received']} steps received"
                      f", replay buffer {'restored' if saved_buffer else 'empty (warm-up)'}")

    def write_results(self, stop_reason: str) -> None:
        wall = time.monotonic() - self._start
        session = self.updates - self._session_updates
        self.dir.write_results({
            "stop_reason": stop_reason, "diverged": self.diverged is not None,
            "updates": self.updates, "updates_this_session": session,
            "updates_per_second": session / wall if wall > 0 else 0.0,
            "wall_time_s": wall, **self.counts, "buffer_size": self.buffer.size,
            "weights_version": self.weights_version, "episodes": self.episodes.count,
            "mean_return_last10": finite_or_none(self.episodes.mean_return(10)),
            "mean_native_score_last10": finite_or_none(self.episodes.mean_native_score(10)),
            "update_to_data": self.limiter.measured_ratio(self.counts["steps_received"],
                                                          self.updates),
            "last_checkpoint": str(self.dir.latest_checkpoint() or "") or None,
            "policy": str(self.dir.policy) if self.dir.policy.is_file() else None,
            "resumed_from": self.resumed_from, "refusals": dict(self.refusals),
            "reward_bound": self.reward_bound,
            "config": {"learner": to_dict(self.config), "node": to_dict(self.run)}})

    def close(self) -> None:
        """Final checkpoint, policy artifact and results.json (after the last slice ends)."""
        self._stopping = True
        with self._train_lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._finish()
            finally:
                if self.writer is not None:
                    self.writer.close()

    def _finish(self) -> None:
        if self.diverged:
            last = self.dir.latest_checkpoint()
            if last is not None:   # the artifact is the last good actor, not the diverged
                load_checkpoint(last, self.agent)
                self._written("policy", lambda: export_policy(self.agent, self.dir.policy))
            self._written("results", lambda: self.write_results(f"diverged: {self.diverged}"))
            return
        try:
            path = self.save_checkpoint()
        except OSError as exc:
            self.log.error(f"final {self.checkpoint_failure(exc)}")
            path = None
        # each file on its own: one that fails (disk full) must not cost the others
        exported = self._written("policy", lambda: export_policy(self.agent, self.dir.policy))
        if exported and self.updates == 0:
            self.log.warning("stopped before the first update: the exported policy is the "
                             "untrained initial actor")
        self._written("results", lambda: self.write_results(
            "shutdown" if path else "shutdown (final checkpoint failed)"))
        self.log.info(f"final checkpoint {path}; policy {self.dir.policy}; results "
                      f"{self.dir.results}")

    def _written(self, what: str, write) -> bool:
        try:
            write()
            return True
        except OSError as exc:
            self.log.error(f"cannot write the {what} file in {self.dir.root} ({exc}); the "
                           f"last checkpoint on disk is {self.dir.latest_checkpoint()}")
            return False
