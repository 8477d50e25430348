"""Replay throughput: transitions/s from a publisher process into a learner-like receiver.

    ./env.sh python -m benchmarks.replay_throughput [--replay_seconds 20] [--replay_window 32]

A publisher process sends batches (as benchmarks.replay_bytes builds them) as fast as it can
on the replay topic (qos.REPLAY), waiting for acknowledgements every ``--replay_window``
messages (fewer than the QoS depth of 100; unpaced, publish() fails once the writer's
history is full); this process receives them as the learner does (msg_to_step_batch, then
ReplayBuffer.add, in a MultiThreadedExecutor reception group) and counts steps stored per
second over a window after a warm-up, plus steps lost (sequence gaps). Part ``throughput``
of benchmarks.transport's record.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import sys
import time

import numpy as np

from benchmarks.common import cpu_ticks, spawn_module, two_process_main, wait_for_subscriber
from benchmarks.replay_bytes import episode_batches
from benchmarks.replay_bytes import measure as measure_bytes


def publisher(seconds: float, window: int) -> None:
    """Publish whole episodes of batches back to back for ``seconds``; print the counts.

    Every ``window`` messages it waits until the subscriber acknowledged them: unpaced, the
    writer's history (qos.REPLAY keeps 100) fills faster than the receiver reads, samples
    are replaced before delivery, and publish() fails with "cannot publish data" after
    Fast DDS's blocking time. A failed publish is counted, not retried.
    """
    import rclpy
    from rclpy.duration import Duration

    from td3_driving.bringup import stack
    from td3_driving.msg import ExperienceBatch
    from td3_driving.ros import qos
    from td3_driving.ros.experience_msg import step_batch_to_msg
    rclpy.init()
    node = rclpy.create_node("bench_replay_publisher")
    pub = node.create_publisher(ExperienceBatch, stack.REPLAY_TOPIC, qos.REPLAY)
    # one episode's messages, renumbered for each episode: sequence and episode id change,
    # the payload is built once (the publisher's own cost should not limit the transport)
    template = [(step_batch_to_msg(b), len(b)) for b in
                episode_batches(np.random.default_rng(1), "bench:pub")]
    wait_for_subscriber(pub)
    time.sleep(0.5)
    sent, failed, seq, episode, unacked, ack_wait = 0, 0, 0, 0, 0, 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for msg, n in template:
            msg.sequence = array.array("Q", range(seq, seq + n))
            msg.episode_id = array.array("Q", [episode] * n)
            try:
                pub.publish(msg)
                sent += 1
            except RuntimeError:   # rclpy.RCLError: the writer history stayed full
                failed += 1
            seq, unacked = seq + n, unacked + 1
            if window and unacked >= window:
                t = time.monotonic()
                pub.wait_for_all_acked(Duration(seconds=5))
                ack_wait, unacked = ack_wait + time.monotonic() - t, 0
        episode += 1
    print(json.dumps({"messages_sent": sent, "steps_sent": seq, "publish_failures": failed,
                      "ack_wait_s": round(ack_wait, 2)}), flush=True)
    time.sleep(1.0)   # let the last samples go out before the writer disappears
    node.destroy_node()
    rclpy.shutdown()


def measure(seconds: float, window: int, warmup: float = 3.0) -> dict:
    from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

    from td3_driving.bringup import stack
    from td3_driving.core.config import ReplayConfig
    from td3_driving.core.replay import ReplayBuffer
    from td3_driving.msg import ExperienceBatch
    from td3_driving.ros import qos
    from td3_driving.ros.experience_msg import msg_to_step_batch
    from td3_driving.ros.listener import Listener
    from td3_driving.task.driving import DRIVING_LEARNER
    cfg = DRIVING_LEARNER
    # capacity only bounds memory: the cost of add() does not depend on how full it is
    buffer = ReplayBuffer(cfg.observation, ReplayConfig(capacity=50_000), cfg.action_size,
                          cfg.td3.gamma)
    spin = Listener("bench_replay_receiver", threads=3)
    counts = {"messages": 0, "steps": 0, "lost": 0, "first": None, "busy": 0.0}

    def on_batch(msg) -> None:
        t = time.perf_counter()
        report = buffer.add(msg_to_step_batch(msg))
        with spin.lock:
            counts["busy"] += time.perf_counter() - t
            counts["messages"] += 1
            counts["steps"] += report.steps_added
            counts["lost"] += sum(report.missing_steps.values())
            if counts["first"] is None:
                counts["first"] = time.monotonic()

    spin.node.create_subscription(ExperienceBatch, stack.REPLAY_TOPIC, on_batch, qos.REPLAY,
                                  callback_group=MutuallyExclusiveCallbackGroup())
    publisher = spawn_module("benchmarks.replay_throughput", "--role", "publisher",
                             "--replay_seconds", str(seconds + warmup + 2.0),
                             "--replay_window", str(window))
    try:
        while True:
            with spin.lock:
                first = counts["first"]
            if first is not None:
                break
            if publisher.poll() is not None:
                raise SystemExit("the replay publisher exited before sending")
            time.sleep(0.05)
        time.sleep(max(0.0, first + warmup - time.monotonic()))
        cpu0 = cpu_ticks(os.getpid()), cpu_ticks(publisher.pid)
        with spin.lock:
            t0, a = time.monotonic(), dict(counts)
        time.sleep(seconds)
        with spin.lock:
            t1, b = time.monotonic(), dict(counts)
        cpu1 = cpu_ticks(os.getpid()), cpu_ticks(publisher.pid)
        out, _ = publisher.communicate(timeout=60)
    finally:
        if publisher.poll() is None:
            publisher.kill()
        spin.close()
    sent = json.loads(out.strip().splitlines()[-1])
    wall, hz = t1 - t0, os.sysconf("SC_CLK_TCK")
    steps, messages = b["steps"] - a["steps"], b["messages"] - a["messages"]
    per_step = measure_bytes()["bytes_per_transition"]
    return {"window_s": round(wall, 2), "messages_received": messages,
            "steps_received": steps, "transitions_per_s": round(steps / wall, 1),
            "messages_per_s": round(messages / wall, 1),
            "megabytes_per_s": round(steps * per_step / wall / 1e6, 2),
            "steps_lost_in_gaps": b["lost"] - a["lost"],
            "steps_lost_total": b["lost"], "steps_received_total": b["steps"],
            "publisher_messages_sent": sent["messages_sent"],
            "publisher_steps_sent": sent["steps_sent"],
            "publisher_failed_publishes": sent["publish_failures"],
            "publisher_ack_window_messages": window,
            "publisher_ack_wait_s": sent["ack_wait_s"],
            # time in msg_to_step_batch + ReplayBuffer.add per second of wall time; taking
            # and deserializing the message happens before, in the executor
            "receiver_callback_busy_fraction": round((b["busy"] - a["busy"]) / wall, 3),
            "receiver_cpu_cores": round((cpu1[0] - cpu0[0]) / hz / wall, 2),
            "publisher_cpu_cores": round((cpu1[1] - cpu0[1]) / hz / wall, 2),
            "executor": "MultiThreadedExecutor(3), reception in a MutuallyExclusive group "
                        "(as the learner)"}


def summary(t: dict) -> str:
    return (f"replay throughput: {t['transitions_per_s']:.0f} transitions/s "
            f"({t['messages_per_s']:.0f} msg/s, {t['megabytes_per_s']:.1f} MB/s) into a "
            f"ReplayBuffer; {t['steps_lost_total']} steps lost in gaps of "
            f"{t['publisher_steps_sent']} sent; receiver {t['receiver_cpu_cores']} cores "
            f"(callbacks {100 * t['receiver_callback_busy_fraction']:.0f} % of the time), "
            f"publisher {t['publisher_cpu_cores']} cores")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replay_seconds", type=float, default=20.0,
                   help="throughput window (after a 3 s warm-up)")
    p.add_argument("--replay_window", type=int, default=32,
                   help="messages between waits for acknowledgement (0 = never wait)")


def main() -> int:
    return two_process_main(__doc__, add_arguments, publisher, measure, summary,
                            ("replay_seconds", "replay_window"))


if __name__ == "__main__":
    sys.exit(main())
