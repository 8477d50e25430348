"""Weights latency: publish -> swapped in an agent, for PolicyWeights of the real actor.

    ./env.sh python -m benchmarks.weights_latency [--weights_count 20] [--weights_rate 2]

A publisher process publishes PolicyWeights carrying the real actor payload (actor_payload
of a TD3Agent with the driving config, ~7.5 MB) with qos.WEIGHTS at a low rate; this
process runs the agent's WeightsGate.accept on each. Latency = accept finished minus publish
call started (wall clock, same machine), split into delivery (callback started) and
accept. Part ``weights`` of benchmarks.transport's record.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import sys
import time

import numpy as np

from benchmarks.common import spawn_module, two_process_main, wait_for_subscriber


def publisher(count: int, rate: float) -> None:
    """Publish ``count`` PolicyWeights versions of a real actor at ``rate`` Hz."""
    import hashlib

    import rclpy

    from td3_driving.bringup import stack
    from td3_driving.core.policy import actor_payload
    from td3_driving.core.td3 import TD3Agent
    from td3_driving.msg import PolicyWeights
    from td3_driving.ros import qos
    from td3_driving.task.driving import DRIVING_LEARNER
    rclpy.init()
    node = rclpy.create_node("bench_weights_publisher")
    pub = node.create_publisher(PolicyWeights, stack.WEIGHTS_TOPIC, qos.WEIGHTS)
    architecture, data = actor_payload(TD3Agent(DRIVING_LEARNER))
    msg = PolicyWeights(architecture=architecture, format="safetensors",
                        sha256=hashlib.sha256(data).hexdigest())
    payload = array.array("B")
    payload.frombytes(data)
    msg.data = payload
    wait_for_subscriber(pub)
    time.sleep(1.0)
    for version in range(1, count + 1):
        next_at = time.monotonic() + 1.0 / rate
        msg.version = msg.learner_step = version
        start = time.time_ns()   # the stamp carries when the publish call started
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(start, 10**9)
        pub.publish(msg)
        time.sleep(max(0.0, next_at - time.monotonic()))
    print(json.dumps({"payload_bytes": len(data), "published": count}), flush=True)
    time.sleep(2.0)
    node.destroy_node()
    rclpy.shutdown()


def _stats(values: list[float]) -> dict:
    if not values:
        return {"median": None, "p90": None, "max": None}
    return {"median": round(float(np.median(values)), 2),
            "p90": round(float(np.percentile(values, 90)), 2),
            "max": round(float(np.max(values)), 2)}


def measure(count: int, rate: float) -> dict:
    from td3_driving.bringup import stack
    from td3_driving.msg import PolicyWeights
    from td3_driving.ros import qos
    from td3_driving.ros.listener import Listener
    from td3_driving.ros.weights import WeightsGate
    from td3_driving.task.driving import DRIVING_OBSERVATION
    gate = WeightsGate(DRIVING_OBSERVATION, threads=1)
    spin = Listener("bench_weights_receiver")   # an agent spins one thread
    samples = []

    def on_weights(msg) -> None:
        received = time.time_ns()
        gate.accept(msg)
        done = time.time_ns()
        start = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        with spin.lock:
            samples.append({"version": int(msg.version),
                            "delivery_ms": round((received - start) / 1e6, 2),
                            "accept_ms": round((done - received) / 1e6, 2),
                            "latency_ms": round((done - start) / 1e6, 2)})

    spin.node.create_subscription(PolicyWeights, stack.WEIGHTS_TOPIC, on_weights, qos.WEIGHTS)
    publisher = spawn_module("benchmarks.weights_latency", "--role", "publisher",
                             "--weights_count", str(count), "--weights_rate", str(rate))
    try:
        out, _ = publisher.communicate(timeout=120 + count / rate)
    finally:
        if publisher.poll() is None:
            publisher.kill()
        time.sleep(1.0)
        spin.close()
    info = json.loads(out.strip().splitlines()[-1])
    with spin.lock:
        got = list(samples)
    return {"payload_bytes": info["payload_bytes"], "publications": count,
            "received": len(got), "rate_hz": rate, "qos": "reliable, transient local, depth 1",
            "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", ""),
            "latency_ms": _stats([s["latency_ms"] for s in got]),
            "delivery_ms": _stats([s["delivery_ms"] for s in got]),
            "accept_ms": _stats([s["accept_ms"] for s in got]), "samples": got}


def summary(w: dict) -> str:
    return (f"weights ({w['payload_bytes'] / 1e6:.2f} MB): {w['received']}/"
            f"{w['publications']} accepted; publish -> swapped median "
            f"{w['latency_ms']['median']} ms, p90 {w['latency_ms']['p90']} ms (delivery "
            f"median {w['delivery_ms']['median']} ms, accept {w['accept_ms']['median']} ms)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights_count", type=int, default=20)
    p.add_argument("--weights_rate", type=float, default=2.0, help="publications per second")


def main() -> int:
    return two_process_main(__doc__, add_arguments, publisher, measure, summary,
                            ("weights_count", "weights_rate"))


if __name__ == "__main__":
    sys.exit(main())
