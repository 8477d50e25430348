"""The learner node: experience in, TD3 updates at a fixed update-to-data ratio, weights out.

A thin adapter around :class:`td3_driving.learner.workspace.Learner`:

- subscribes ``/td3/replay`` (ExperienceBatch) into the replay buffer and
  ``/td3/episode_stats`` (EpisodeStats) into TensorBoard, in a reception callback group;
  a message is checked completely before it changes anything (learner/intake.py), a
  refusal is logged (per agent and kind, rate-limited) and counted, and nothing a peer
  sends escapes a callback;
- trains in its own callback group (a guard condition that each stored batch triggers, and
  that triggers itself again while the ratio allows more updates; at most ``train_slice_s``
  per call), so that a MultiThreadedExecutor keeps receiving meanwhile. Not a polling timer:
  every wake-up of the executor costs the CPU that the agents and the updates need
  (README, "Where the CPU goes");
- publishes ``/td3/learner_status`` (LearnerStatus: ``steps_allowed`` is the backpressure
  agents obey), ``/td3/policy_weights`` (PolicyWeights, latched) and ``/diagnostics``.

The status timer also publishes the diagnostics, and weights that became due while no
training slice runs. Timers run on the steady clock: agents
pause the simulator under backpressure, which stops /clock, and a sim-time timer would then
never fire to catch up. Message stamps use the node's clock: wall time as the stack starts
it (bringup/stack.py), sim time with use_sim_time.
"""

from __future__ import annotations

import array
import os
import time
from dataclasses import replace

import rclpy.logging
import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from td3_driving.bringup.stack import (
    EPISODE_STATS_TOPIC,
    LEARNER_STATUS_TOPIC,
    REPLAY_TOPIC,
    WEIGHTS_TOPIC,
)
from td3_driving.bringup.usage import machine_busy_seconds
from td3_driving.core.config import LearnerConfig
from td3_driving.core.td3 import resolve_device
from td3_driving.learner.config import LearnerNodeConfig
from td3_driving.learner.intake import EpisodeSummary, reward_step_bound
from td3_driving.learner.schedules import UNLIMITED
from td3_driving.learner.threads import ThreadFitter, usable_cores
from td3_driving.learner.workspace import Learner, WeightsPayload
from td3_driving.msg import EpisodeStats, ExperienceBatch, LearnerStatus, PolicyWeights
from td3_driving.ros import qos
from td3_driving.ros.experience_msg import msg_to_step_batch
from td3_driving.ros.log_throttle import ThrottledLogger, error_kind
from td3_driving.ros.params import declare_config
from td3_driving.ros.spin import run_node
from td3_driving.task.config import RewardConfig
from td3_driving.task.driving import DRIVING_LEARNER

DIAGNOSTICS_TOPIC = "/diagnostics"
LOG_THROTTLE_S = 5.0  # per-batch problems: one log line per agent and kind per period


class LearnerNode(Node):
    """ROS adapter of the TD3 learner (see the module docstring for topics)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("learner", **kwargs)
        # The driving task's observation defaults, as the agents declare them.
        self.config: LearnerConfig = declare_config(self, LearnerConfig, defaults=DRIVING_LEARNER)
        run: LearnerNodeConfig = declare_config(self, LearnerNodeConfig)
        # the agents' reward (the same reward file): its step bound is the watchdog's
        self.reward: RewardConfig = declare_config(self, RewardConfig, "reward")
        self.run = replace(run, run_dir=os.path.abspath(run.run_dir))
        self.learner = Learner(self.config, self.run, self.get_logger(),
                               reward_step_bound(self.reward, self.config.td3.gamma),
                               thread_fitter(self.config))
        # per agent and problem kind, so that one problem never hides another
        self._log = ThrottledLogger(self.get_logger(), LOG_THROTTLE_S)
        self._first_version = self.learner.weights_version + 1   # the first one this run
        self.unexpected_errors = 0   # exceptions no check anticipated (caught, logged)

        self._weights_pub = self.create_publisher(PolicyWeights, WEIGHTS_TOPIC, qos.WEIGHTS)
        self._status_pub = self.create_publisher(LearnerStatus, LEARNER_STATUS_TOPIC,
                                                 qos.STATS)
        self._diag_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)

        reception = MutuallyExclusiveCallbackGroup()
        self.create_subscription(ExperienceBatch, REPLAY_TOPIC, self._on_batch, qos.REPLAY,
                                 callback_group=reception)
        self.create_subscription(EpisodeStats, EPISODE_STATS_TOPIC, self._on_episode,
                                 qos.STATS, callback_group=reception)
        self._train_wake = self.create_guard_condition(
            self._train, callback_group=MutuallyExclusiveCallbackGroup())
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(self.run.status_period_s, self._report,
                          callback_group=MutuallyExclusiveCallbackGroup(), clock=steady)
        td3 = self.config.td3
        self.get_logger().info(
            f"learner: run_dir {self.run.run_dir}, update_to_data {td3.update_to_data}, "
            f"learning_starts {td3.learning_starts}, batch {td3.batch_size}, device "
            f"{self.learner.agent.device}, torch threads {self.config.torch_threads}")

    # ------------------------------------------------------------------ reception
    def _on_batch(self, msg: ExperienceBatch) -> None:
        try:
            report = self.learner.receive(msg_to_step_batch(msg))
        except Exception as exc:   # whatever a peer sends, the learner runs on
            self._refuse_batch(msg, exc)
            return
        self._train_wake.trigger()   # (triggers while a slice runs coalesce into one)
        try:
            self._report_batch(msg.agent_id, report)
        except Exception as exc:   # (logging only: never lose the run over it)
            self.unexpected_errors += 1
            self.get_logger().error(f"{REPLAY_TOPIC}: reporting a batch failed: {exc!r}")

    def _refuse_batch(self, msg: ExperienceBatch, exc: Exception) -> None:
        agent, steps = str(msg.agent_id)[:64], len(msg.sequence)
        field = getattr(exc, "field", "message")
        if not isinstance(exc, ValueError):   # a check this code lacks: say so plainly
            self.unexpected_errors += 1
            exc = f"unexpected {type(exc).__name__}: {exc}"
        elif field == "message":   # the message's own sizes, or its shapes vs. the config
            exc = (f"{exc}; the sender must use this learner's observation.* and action "
                   "sizes and the same message definitions")
        # a forged sequence jump or counter leaves no gap in the real agent's stream
        self.learner.refused(agent, steps, field, leaves_gap=field != "sequence")
        self._log.error((agent, error_kind(str(exc))),
                        f"{REPLAY_TOPIC}: refused a batch of {steps} steps from agent "
                        f"{agent!r} ({self.learner.counts['batches_dropped']} batches "
                        f"refused so far): {exc}")

    def _report_batch(self, agent_id: str, report) -> None:
        counts = self.learner.counts
        if report.gaps or report.dropped:
            self._log.warning(
                (agent_id, "gap"),
                f"{REPLAY_TOPIC}: agent {agent_id!r}: {sum(report.gaps.values())} sequence"
                f" gap(s) losing {sum(report.missing_steps.values())} step(s), "
                f"{sum(report.dropped.values())} duplicate/out-of-order step(s) dropped "
                f"(totals: {counts['gaps']} gaps, {counts['steps_dropped']} steps dropped)")
        if report.broken_links:
            self._log.warning(
                (agent_id, "link"),
                f"{REPLAY_TOPIC}: agent {agent_id!r}: episode id / step_index not "
                f"continuous at {sum(report.broken_links.values())} step(s); frame stacks "
                f"restarted there (total {counts['broken_links']})")

    def _on_episode(self, msg: EpisodeStats) -> None:
        try:
            self.learner.episode(EpisodeSummary(
                msg.agent_id, float(msg.episode_return), int(msg.length),
                float(msg.native_score), float(msg.route_completion), bool(msg.evaluation)))
        except Exception as exc:   # whatever a peer sends, the learner runs on
            if not isinstance(exc, ValueError):
                self.unexpected_errors += 1
            agent = str(msg.agent_id)[:64]
            self._log.error((agent, error_kind(str(exc))),
                            f"{EPISODE_STATS_TOPIC}: refused episode statistics from agent "
                            f"{agent!r} ({self.learner.counts['episodes_refused']} refused "
                            f"so far): {exc}")

    # ------------------------------------------------------------------ training
    def _train(self) -> None:
        done = self.learner.train()
        self._publish_weights(self.learner.weights_payload())
        # more is due: go on after the executor had its turn (shutdown, other callbacks);
        # none done (no complete transition yet, stopping, diverged): the next batch wakes it
        if done and self.learner.updates_due():
            self._train_wake.trigger()

    def _publish_weights(self, payload: WeightsPayload | None) -> None:
        if payload is None:
            return
        msg = PolicyWeights()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.version, msg.learner_step = payload.version, payload.learner_step
        msg.architecture, msg.format, msg.sha256 = payload.architecture, "safetensors", \
            payload.sha256
        data = array.array("B")
        data.frombytes(payload.data)   # whole buffer at once: per element costs ~400 ms/5 MB
        msg.data = data
        self._publish(self._weights_pub, msg)
        text = (f"published weights version {payload.version} (update "
                f"{payload.learner_step}, {len(payload.data) / 1e6:.2f} MB)")
        if payload.version == 1 or payload.version == self._first_version:
            self.get_logger().info(text)
        else:
            self.get_logger().debug(text)

    # ------------------------------------------------------------------ reporting
    def _report(self) -> None:
        # weights due while no slice runs: a resumed actor, the last updates before a pause
        self._publish_weights(self.learner.weights_payload(wait=False))
        self._publish_status()
        report = self.learner.flush_metrics()
        if report is not None:
            self._publish_diagnostics(report)

    def _publish_status(self) -> None:
        s = self.learner.status()
        msg = LearnerStatus()
        msg.header.stamp = self.get_clock().now().to_msg()
        for name in ("learner_step", "weights_version", "steps_received", "steps_allowed",
                     "buffer_size", "steps_dropped", "messages_refused"):
            setattr(msg, name, min(int(s[name]), UNLIMITED))   # counters saturate
        for name in ("update_to_data", "updates_per_second", "policy_lag_median",
                     "policy_lag_p95"):
            setattr(msg, name, float(s[name]))
        msg.reward_bound = float(s["reward_bound"])
        msg.training = bool(s["training"])
        msg.stop_reason = s["stop_reason"]
        self._publish(self._status_pub, msg)

    def _publish_diagnostics(self, report: dict[str, float]) -> None:
        status = self.learner.status()
        diag = DiagnosticStatus(name=f"{self.get_name()}: td3", hardware_id=self.get_name())
        if self.learner.diverged:
            diag.level, diag.message = DiagnosticStatus.ERROR, self.learner.diverged
        elif status["training"]:
            diag.level, diag.message = DiagnosticStatus.OK, "training"
        else:
            diag.level, diag.message = DiagnosticStatus.OK, "collecting warm-up data"
        refusals = {f"refused/{k}": v for k, v in self.learner.refusals.items()}
        values = {**status, **self.learner.counts, **refusals, **report,
                  "unexpected_errors": self.unexpected_errors}
        diag.values = [KeyValue(key=k, value=f"{v:.6g}" if isinstance(v, float) else str(v))
                       for k, v in sorted(values.items())]
        msg = DiagnosticArray(status=[diag])
        msg.header.stamp = self.get_clock().now().to_msg()
        self._publish(self._diag_pub, msg)

    def _publish(self, publisher, msg) -> None:
        try:
            publisher.publish(msg)
        except Exception:
            # a callback still running while Ctrl-C shuts the context down cannot publish;
            # anything else is a real error
            if self.context.ok():
                raise

    def close(self) -> None:
        """Final checkpoint, policy artifact and results.json; called once on shutdown."""
        # Ctrl-C shuts the context down concurrently, after which /rosout cannot be
        # published: the last lines go to the console only (a logger name no node
        # publishes /rosout for)
        self.learner.log = rclpy.logging.get_logger(f"{self.get_name()}_shutdown")
        self.learner.close()


def thread_fitter(config: LearnerConfig) -> ThreadFitter | None:
    """torch_threads 0 on a CPU learner: the count follows the cores others leave idle."""
    if config.torch_threads != 0 or resolve_device(config.device).type != "cpu":
        return None
    return ThreadFitter(usable_cores(), machine_busy_seconds,
                        time.process_time, torch.set_num_threads, time.monotonic())


def main(args: list[str] | None = None) -> int:
    # training, status and reception run in parallel: one thread each
    return run_node(LearnerNode, args, lambda: MultiThreadedExecutor(num_threads=3))


if __name__ == "__main__":
    raise SystemExit(main())
