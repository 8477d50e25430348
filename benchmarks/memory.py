#!/usr/bin/env python3
"""Memory: the learner node's RSS per 100k transitions received over the replay topic.

    ./env.sh python -m benchmarks.memory [--transitions 100000] [--warmup 5000]
        [--capacity 120000] [--json PATH]

Starts a real learner node (td3_driving.bringup.stack's learner spec, as `make train` starts it)
with td3.learning_starts larger than anything it will receive (it never trains) and
replay.capacity above warm-up + transitions (nothing is overwritten), then publishes
ExperienceBatch messages on /td3/replay from this process as an agent would: one agent id,
episodes of 250 steps flushed 32 steps at a time, consecutive sequence numbers, 84x84
grayscale frames. Publishing keeps at most ``--in_flight`` steps ahead of the learner's
LearnerStatus.steps_received (the replay QoS keeps 100 messages). The learner process's
RSS (VmRSS of its process tree, /proc) is sampled every ``--sample_s`` seconds; after the
warm-up batches (allocator and first-touch effects) and after all transitions are in.

    MB per 100k transitions = (RSS after - RSS after warm-up) / steps stored * 100k

next to the replay buffer's own storage: ReplayBuffer.bytes_per_transition() * 100k for
the learner's observation config (numpy arrays are allocated zeroed and take physical
pages as slots are written, so RSS grows with the steps stored). 1 MB = 10^6 bytes.

Writes ``--json`` (default docs/benchmarks/results/memory.json):

    {"section": "memory", **header (command, date, machine, load averages),
     "capacity", "warmup_steps", "transitions", "steps_stored", "steps_dropped",
     "rss_mb": {"start", "after_warmup", "after"},
     "rss_mb_per_100k_transitions", "buffer_bytes_per_transition",
     "buffer_mb_per_100k_transitions", "rss_over_buffer_ratio", "feed_steps_per_s",
     "samples": [{"t_s", "steps_received", "rss_mb"}, ...]}

A benchmark, not a test: it prints numbers and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import array
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    RESULTS,
    params_file,
    private_ros_domain,
    report_header,
    rss_kb,
    write_json,
)
from benchmarks.replay_bytes import episode_batches


class Feeder:
    """An agent-like publisher of replay batches, paced by the learner's status."""

    def __init__(self) -> None:
        from td3_driving.bringup import stack
        from td3_driving.msg import ExperienceBatch, LearnerStatus
        from td3_driving.ros import qos
        from td3_driving.ros.experience_msg import step_batch_to_msg
        from td3_driving.ros.listener import Listener
        self.listener = Listener("bench_memory_feeder")
        self.node, self.lock = self.listener.node, self.listener.lock
        self.pub = self.node.create_publisher(ExperienceBatch, stack.REPLAY_TOPIC, qos.REPLAY)
        self.status = None
        self.node.create_subscription(LearnerStatus, stack.LEARNER_STATUS_TOPIC,
                                      self._on_status, qos.STATS)
        # one episode's messages, renumbered per episode (sequence, episode id)
        self.template = [(step_batch_to_msg(b), len(b)) for b in
                         episode_batches(np.random.default_rng(0), "bench:memory")]
        self.sent = self.episode = 0

    def _on_status(self, msg) -> None:
        with self.lock:
            self.status = (int(msg.steps_received), int(msg.steps_dropped))

    def received(self) -> tuple[int, int]:
        """(steps_received, steps_dropped) of the learner's newest status; (-1, 0) before."""
        with self.lock:
            return self.status if self.status is not None else (-1, 0)

    def feed(self, steps: int, in_flight: int, on_tick, timeout: float = 900.0) -> None:
        """Send whole episodes until ``steps`` more steps are sent and stored."""
        target = self.sent + steps
        deadline = time.monotonic() + timeout
        while self.received()[0] < target:
            if time.monotonic() > deadline:
                raise SystemExit(f"learner stored {self.received()[0]} of {target} steps "
                                 f"in {timeout:.0f} s")
            on_tick()
            if self.sent < target and self.sent - self.received()[0] < in_flight:
                for msg, n in self.template:
                    msg.sequence = array.array("Q", range(self.sent, self.sent + n))
                    msg.episode_id = array.array("Q", [self.episode] * n)
                    self.pub.publish(msg)
                    self.sent += n
                self.episode += 1
            else:
                time.sleep(0.02)

    def close(self) -> None:
        self.listener.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--transitions", type=int, default=100_000,
                   help="steps measured after the warm-up")
    p.add_argument("--warmup", type=int, default=5_000, help="steps sent before the baseline")
    p.add_argument("--capacity", type=int, default=120_000, help="learner replay.capacity")
    p.add_argument("--in_flight", type=int, default=1_600,
                   help="most steps sent but not yet in the learner's status")
    p.add_argument("--sample_s", type=float, default=3.0, help="RSS sample period")
    p.add_argument("--json", default=str(RESULTS / "memory.json"),
                   help="JSON report path ('' = none)")
    args = p.parse_args()
    if args.capacity < args.warmup + args.transitions + 250:
        p.error("--capacity must hold warm-up + transitions (+ one episode)")
    domain = private_ros_domain()

    from td3_driving.bringup import stack
    from td3_driving.bringup.launcher import Stack
    from td3_driving.core.config import ReplayConfig
    from td3_driving.core.replay import ReplayBuffer
    from td3_driving.task.driving import DRIVING_LEARNER

    report = report_header("memory")
    print(f"bench_memory: ROS_DOMAIN_ID {domain}, load average "
          f"{report['load_average_1min_before']}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="td3-bench-memory-"))
    sargs = stack.StackArgs(run_dir=str(tmp / "run"), params_file=params_file(tmp, {
        "td3.learning_starts": 10**9, "replay.capacity": args.capacity}))
    feeder = Feeder()
    learner = Stack([stack.Group("", (stack.learner(sargs),))], log_level="warn", quiet=True)
    learner.start()
    pid = learner.processes[0].popen.pid
    t_start = time.monotonic()
    samples: list[dict] = []

    def sample(force: bool = False) -> float:
        if force or not samples or time.monotonic() - t_start - samples[-1]["t_s"] \
                >= args.sample_s:
            rss = rss_kb(pid) * 1024 / 1e6
            samples.append({"t_s": round(time.monotonic() - t_start, 1),
                            "steps_received": feeder.received()[0], "rss_mb": round(rss, 1)})
            return rss
        return samples[-1]["rss_mb"]

    try:
        while feeder.received()[0] < 0 or feeder.pub.get_subscription_count() == 0:
            if learner.failed():
                raise SystemExit("the learner exited during start-up")
            time.sleep(0.1)
        time.sleep(1.0)
        rss_start = sample(force=True)
        feeder.feed(args.warmup, args.in_flight, sample)
        time.sleep(1.0)
        rss_warm, steps_warm = sample(force=True), feeder.received()[0]
        t_feed = time.monotonic()
        feeder.feed(args.transitions, args.in_flight, sample)
        feed_s = time.monotonic() - t_feed
        time.sleep(1.0)
        rss_after = sample(force=True)
        steps_after, dropped = feeder.received()
    finally:
        learner.stop(learner_timeout=60.0)
        feeder.close()
        shutil.rmtree(tmp, ignore_errors=True)

    stored = steps_after - steps_warm
    cfg = DRIVING_LEARNER
    per_step = ReplayBuffer(cfg.observation, ReplayConfig(capacity=1000), cfg.action_size,
                            cfg.td3.gamma).bytes_per_transition()
    per_100k = (rss_after - rss_warm) / stored * 100_000
    buffer_100k = per_step * 100_000 / 1e6
    report.update(
        capacity=args.capacity, warmup_steps=args.warmup, transitions=args.transitions,
        steps_stored=stored, steps_dropped=dropped,
        rss_mb={"start": round(rss_start, 1), "after_warmup": round(rss_warm, 1),
                "after": round(rss_after, 1)},
        rss_mb_per_100k_transitions=round(per_100k, 1),
        buffer_bytes_per_transition=round(per_step, 1),
        buffer_mb_per_100k_transitions=round(buffer_100k, 1),
        rss_over_buffer_ratio=round(per_100k / buffer_100k, 3),
        feed_steps_per_s=round(stored / feed_s, 1), samples=samples)
    print(f"learner RSS {rss_start:.0f} MB at start, {rss_warm:.0f} MB after {steps_warm} "
          f"warm-up steps, {rss_after:.0f} MB after {stored} more ({dropped} dropped)")
    print(f"RSS per 100k transitions: {per_100k:.0f} MB; the replay buffer's own storage: "
          f"{per_step:.0f} bytes/transition = {buffer_100k:.0f} MB per 100k "
          f"(ratio {per_100k / buffer_100k:.2f})")
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
