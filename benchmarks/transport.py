#!/usr/bin/env python3
"""Transport benchmark: the replay and weights topics, and env steps/s with 1, 2, 4 agents.

    ./env.sh python -m benchmarks.transport [--parts bytes throughput weights agents]
        [--replay_seconds 20] [--replay_window 32] [--weights_count 20] [--weights_rate 2]
        [--agents 1 2 4] [--agents_window_s 60] [--json PATH]

Four measurements, each in its own ROS domain (a private one unless ROS_DOMAIN_ID is set to
a non-zero value), Fast DDS with the shipped profile (env.sh exports it):

- bytes: serialized size (rclpy.serialization) of ExperienceBatch messages built as the
  agent builds them (ExperienceRecorder, flushed the agent's way: 32 steps per message
  while an episode runs, the rest at its end; 84x84 grayscale frames, vector 8, action 2)
  over whole 250-step episodes, divided by the steps they carry.
- throughput: a publisher process sends such batches as fast as it can on the replay topic
  (qos.REPLAY), waiting for acknowledgements every ``--replay_window`` messages (fewer than
  the QoS depth of 100; unpaced, publish() fails once the writer's history is full);
  this process receives them as the learner does (msg_to_step_batch, then
  ReplayBuffer.add, in a MultiThreadedExecutor reception group) and counts steps stored
  per second over a window after a warm-up, plus steps lost (sequence gaps).
- weights: a publisher process publishes PolicyWeights carrying the real actor payload
  (actor_payload of a TD3Agent with the driving config, ~7.5 MB) with qos.WEIGHTS at a low
  rate; this process runs the agent's WeightsGate.accept on each. Latency = accept finished
  minus publish call started (wall clock, same machine), split into delivery (callback
  started) and accept.
- agents: the training stack (td3_driving.bringup.stack.training_stack, as `make train`) with
  num_agents N and td3.learning_starts larger than any step count, so that the learner
  never trains and never throttles the agents (they act with random warm-up actions, no
  policy inference); env steps/s from the learner's LearnerStatus.steps_received over a
  window after every agent is running; CPU use of each node process and of the whole
  machine over the same window (/proc), to show whether the 2 cores are saturated.

Writes ``--json`` (default docs/benchmarks/results/transport.json):

    {"section": "transport", **header (command, date, machine, load averages),
     "bytes": {"batch_steps", "frame_shape", "vector_size", "action_size", "messages",
               "steps", "serialized_bytes", "bytes_per_transition",
               "frame_bytes_per_transition", "overhead_bytes_per_transition",
               "full_batch_bytes_per_transition", "goal_bytes_per_transition", "goal_met"},
     "throughput": {"window_s", "messages_received", "steps_received",
                    "transitions_per_s", "messages_per_s", "megabytes_per_s",
                    "steps_lost_in_gaps" (window), "steps_lost_total",
                    "steps_received_total", "publisher_messages_sent", "publisher_steps_sent",
                    "publisher_failed_publishes", "publisher_ack_window_messages",
                    "publisher_ack_wait_s",
                    "receiver_callback_busy_fraction", "receiver_cpu_cores",
                    "publisher_cpu_cores", "executor"},
     "weights": {"payload_bytes", "publications", "received", "rate_hz",
                 "latency_ms": {"median", "p90", "max"},
                 "delivery_ms": {...}, "accept_ms": {...}, "samples": [...]},
     "agents": {"learning_starts", "window_s",
                "runs": [{"num_agents", "steps_per_s", "ratio_vs_1_agent",
                          "stack_cpu_ms_per_step": CPU of all node processes per env step,
                          "steps_per_s_bound_all_cores": cpu_count / CPU per step,
                          "per_agent_commands_per_s": {role: ...},
                          "cpu_cores": {process label: cores used},
                          "stack_cpu_cores", "machine_cpu_busy_fraction",
                          "load_average_1min_before", "load_average_1min_after"}],
                "goal_ratio_4_vs_1", "ratio_4_vs_1", "goal_met",
                "ratio_4_vs_1_bound_all_cores": 4 agents' bound / 1 agent's steps/s}}

A benchmark, not a test: it prints numbers and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import (
    RESULTS,
    cpu_ticks,
    machine_ticks,
    params_file,
    private_ros_domain,
    report_header,
    write_json,
)

BATCH_STEPS = 32          # the agent's batch_steps (config/train.yaml)
EPISODE_STEPS = 250       # reward.max_episode_steps (config/reward.yaml)
GOAL_BYTES = 7500         # issue 7: replay <= 7.5 KB per transition
GOAL_AGENT_RATIO = 3.0    # issue 7: 4 agents >= 3x the env steps/s of 1


# ---------------------------------------------------------------- messages as agents build them
def episode_batches(rng: np.random.Generator, agent_id: str = "bench:0",
                    episodes: int = 1, steps: int = EPISODE_STEPS) -> list:
    """StepBatches of whole episodes, flushed as AgentNode._flush does."""
    from td3_driving.core.experience import ExperienceRecorder
    from td3_driving.task.driving import DRIVING_OBSERVATION
    obs = DRIVING_OBSERVATION
    rec = ExperienceRecorder(agent_id, 2)
    out = []

    def frame():
        return rng.integers(0, 256, (obs.channels, obs.height, obs.width), dtype=np.uint8)

    def vector():
        return rng.normal(size=obs.vector_size).astype(np.float32)

    for _ in range(episodes):
        rec.begin_episode(frame(), vector())
        for t in range(1, steps):
            rec.step(frame(), vector(), rng.uniform(-1, 1, 2).astype(np.float32),
                     float(rng.normal()), False, t == steps - 1)
            if t < steps - 1 and rec.pending() > BATCH_STEPS:
                out.append(rec.flush(keep_last=True))
        out.append(rec.flush())
    return out


def measure_bytes() -> dict:
    from rclpy.serialization import serialize_message

    from td3_driving.ros.experience_msg import step_batch_to_msg
    from td3_driving.task.driving import DRIVING_OBSERVATION
    batches = episode_batches(np.random.default_rng(0), episodes=2)
    sizes = [len(serialize_message(step_batch_to_msg(b))) for b in batches]
    steps = [len(b) for b in batches]
    full = [s / n for s, n in zip(sizes, steps) if n == BATCH_STEPS]
    obs = DRIVING_OBSERVATION
    frame = obs.channels * obs.height * obs.width
    per = sum(sizes) / sum(steps)
    return {"batch_steps": BATCH_STEPS, "frame_shape": [obs.channels, obs.height, obs.width],
            "vector_size": obs.vector_size, "action_size": 2, "messages": len(sizes),
            "steps": sum(steps), "serialized_bytes": sum(sizes),
            "bytes_per_transition": round(per, 1), "frame_bytes_per_transition": frame,
            "overhead_bytes_per_transition": round(per - frame, 1),
            "full_batch_bytes_per_transition": round(float(np.mean(full)), 1),
            "goal_bytes_per_transition": GOAL_BYTES, "goal_met": per <= GOAL_BYTES}


# ---------------------------------------------------------------- helper processes
def _spawn(role: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--role", role, *extra],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))


def _wait_for_subscriber(publisher, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            raise SystemExit("no subscriber appeared within 30 s")
        time.sleep(0.05)


def replay_publisher(seconds: float, window: int) -> None:
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
    _wait_for_subscriber(pub)
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


def weights_publisher(count: int, rate: float) -> None:
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
    _wait_for_subscriber(pub)
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


# ---------------------------------------------------------------- receivers (this process)
class _Spinner:
    """A node spun by an executor in a background thread, in its own context."""

    def __init__(self, name: str, multi: bool = False) -> None:
        import rclpy
        from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = (MultiThreadedExecutor(num_threads=3, context=self.context) if multi
                         else SingleThreadedExecutor(context=self.context))
        self.executor.add_node(self.node)
        self.lock = threading.Lock()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:   # context shut down under us
            pass

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        self.rclpy.try_shutdown(context=self.context)


def measure_throughput(seconds: float, window: int, warmup: float = 3.0) -> dict:
    from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

    from td3_driving.bringup import stack
    from td3_driving.core.config import ReplayConfig
    from td3_driving.core.replay import ReplayBuffer
    from td3_driving.msg import ExperienceBatch
    from td3_driving.ros import qos
    from td3_driving.ros.experience_msg import msg_to_step_batch
    from td3_driving.task.driving import DRIVING_LEARNER
    cfg = DRIVING_LEARNER
    # capacity only bounds memory: the cost of add() does not depend on how full it is
    buffer = ReplayBuffer(cfg.observation, ReplayConfig(capacity=50_000), cfg.action_size,
                          cfg.td3.gamma)
    spin = _Spinner("bench_replay_receiver", multi=True)
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
    spin.start()
    publisher = _spawn("replay-publisher", "--replay_seconds", str(seconds + warmup + 2.0),
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


def _stats(values: list[float]) -> dict:
    if not values:
        return {"median": None, "p90": None, "max": None}
    return {"median": round(float(np.median(values)), 2),
            "p90": round(float(np.percentile(values, 90)), 2),
            "max": round(float(np.max(values)), 2)}


def measure_weights(count: int, rate: float) -> dict:
    from td3_driving.bringup import stack
    from td3_driving.msg import PolicyWeights
    from td3_driving.ros import qos
    from td3_driving.ros.weights import WeightsGate
    from td3_driving.task.driving import DRIVING_OBSERVATION
    gate = WeightsGate(DRIVING_OBSERVATION, threads=1)
    spin = _Spinner("bench_weights_receiver")   # an agent spins one thread
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
    spin.start()
    publisher = _spawn("weights-publisher", "--weights_count", str(count),
                       "--weights_rate", str(rate))
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


# ---------------------------------------------------------------- agents
class _StackMonitor:
    """LearnerStatus and per-vehicle control-command counts of a running stack."""

    def __init__(self, roles: list[str]) -> None:
        from carla_msgs.msg import CarlaEgoVehicleControl

        from td3_driving.bringup import stack
        from td3_driving.msg import LearnerStatus
        from td3_driving.ros import qos
        self.spin = _Spinner("bench_transport_monitor")
        self.steps = 0
        self.commands = dict.fromkeys(roles, 0)
        self.spin.node.create_subscription(LearnerStatus, stack.LEARNER_STATUS_TOPIC,
                                           self._on_status, qos.STATS)
        for role in roles:
            self.spin.node.create_subscription(
                CarlaEgoVehicleControl, f"/carla/{role}/vehicle_control_cmd",
                lambda _m, r=role: self._on_command(r), qos.BRIDGE)
        self.spin.start()

    def _on_status(self, msg) -> None:
        with self.spin.lock:
            self.steps = int(msg.steps_received)

    def _on_command(self, role: str) -> None:
        with self.spin.lock:
            self.commands[role] += 1

    def snapshot(self) -> tuple[float, int, dict]:
        with self.spin.lock:
            return time.monotonic(), self.steps, dict(self.commands)


def measure_agents(n: int, learning_starts: int, window: float, warmup: float) -> dict:
    from td3_driving.bringup import stack
    from td3_driving.bringup.launcher import Stack
    tmp = Path(tempfile.mkdtemp(prefix="td3-bench-agents-"))
    args = stack.StackArgs(num_agents=n, run_dir=str(tmp / "run"), seed=0,
                           params_file=params_file(tmp, {"td3.learning_starts":
                                                         learning_starts}))
    roles = stack.role_names(n)
    monitor = _StackMonitor(roles)
    nodes = Stack(stack.training_stack(args), log_level="warn", quiet=True)
    load_before = os.getloadavg()[0]
    nodes.start()
    try:
        deadline = time.monotonic() + 180.0
        while True:   # every vehicle acting and the learner receiving
            _, steps, commands = monitor.snapshot()
            if steps > 0 and min(commands.values()) > 0:
                break
            if nodes.failed() or time.monotonic() > deadline:
                raise SystemExit(f"stack with {n} agents did not start: "
                                 f"{[p.label for p in nodes.failed()]}")
            time.sleep(0.5)
        time.sleep(warmup)
        t0, s0, c0 = monitor.snapshot()
        cpu0 = {p.label: cpu_ticks(p.popen.pid) for p in nodes.processes}
        m0 = machine_ticks()
        time.sleep(window)
        t1, s1, c1 = monitor.snapshot()
        cpu1 = {p.label: cpu_ticks(p.popen.pid) for p in nodes.processes}
        m1 = machine_ticks()
        failed = [p.label for p in nodes.failed()]
    finally:
        nodes.stop(learner_timeout=60.0)
        monitor.spin.close()
        shutil.rmtree(tmp, ignore_errors=True)
    wall, hz = t1 - t0, os.sysconf("SC_CLK_TCK")
    cores = {label: round((cpu1[label] - cpu0[label]) / hz / wall, 2) for label in cpu0}
    cpu_per_step = sum(cores.values()) * wall / max(1, s1 - s0)   # CPU seconds per env step
    return {"num_agents": n, "window_s": round(wall, 1), "steps": s1 - s0,
            "steps_per_s": round((s1 - s0) / wall, 2),
            "stack_cpu_ms_per_step": round(1000 * cpu_per_step, 2),
            # what the stack could do with every core of the machine at this CPU cost
            "steps_per_s_bound_all_cores": round((os.cpu_count() or 1) / cpu_per_step, 1),
            "per_agent_commands_per_s": {r: round((c1[r] - c0[r]) / wall, 2) for r in roles},
            "cpu_cores": cores, "stack_cpu_cores": round(sum(cores.values()), 2),
            "machine_cpu_busy_fraction": round((m1[0] - m0[0]) / max(1, m1[1] - m0[1]), 3),
            "nodes_exited": failed, "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------- main
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", default=["bytes", "throughput", "weights", "agents"],
                   choices=["bytes", "throughput", "weights", "agents"])
    p.add_argument("--replay_seconds", type=float, default=20.0,
                   help="throughput window (after a 3 s warm-up)")
    p.add_argument("--replay_window", type=int, default=32,
                   help="messages between waits for acknowledgement (0 = never wait)")
    p.add_argument("--weights_count", type=int, default=20)
    p.add_argument("--weights_rate", type=float, default=2.0, help="publications per second")
    p.add_argument("--agents", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--agents_window_s", type=float, default=60.0)
    p.add_argument("--agents_warmup_s", type=float, default=15.0,
                   help="seconds after every vehicle acts before the window starts")
    p.add_argument("--learning_starts", type=int, default=10**9,
                   help="learner warm-up in steps: larger than any count, so it never trains")
    p.add_argument("--json", default=str(RESULTS / "transport.json"),
                   help="JSON report path ('' = none)")
    p.add_argument("--role", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "replay-publisher":
        replay_publisher(args.replay_seconds, args.replay_window)
        return 0
    if args.role == "weights-publisher":
        weights_publisher(args.weights_count, args.weights_rate)
        return 0
    domain = private_ros_domain()
    report = report_header("transport")
    print(f"bench_transport: ROS_DOMAIN_ID {domain}, load average "
          f"{report['load_average_1min_before']}", flush=True)
    if "bytes" in args.parts:
        b = report["bytes"] = measure_bytes()
        print(f"replay bytes/transition: {b['bytes_per_transition']:.0f} over {b['steps']} "
              f"steps in {b['messages']} messages ({b['frame_bytes_per_transition']} of them "
              f"the frame; full 32-step batch {b['full_batch_bytes_per_transition']:.0f}); "
              f"goal <= {GOAL_BYTES}: {'met' if b['goal_met'] else 'missed'}", flush=True)
    if "throughput" in args.parts:
        t = report["throughput"] = measure_throughput(args.replay_seconds, args.replay_window)
        print(f"replay throughput: {t['transitions_per_s']:.0f} transitions/s "
              f"({t['messages_per_s']:.0f} msg/s, {t['megabytes_per_s']:.1f} MB/s) into a "
              f"ReplayBuffer; {t['steps_lost_total']} steps lost in gaps of "
              f"{t['publisher_steps_sent']} sent; receiver {t['receiver_cpu_cores']} cores "
              f"(callbacks {100 * t['receiver_callback_busy_fraction']:.0f} % of the time), "
              f"publisher {t['publisher_cpu_cores']} cores", flush=True)
    if "weights" in args.parts:
        w = report["weights"] = measure_weights(args.weights_count, args.weights_rate)
        print(f"weights ({w['payload_bytes'] / 1e6:.2f} MB): {w['received']}/"
              f"{w['publications']} accepted; publish -> swapped median "
              f"{w['latency_ms']['median']} ms, p90 {w['latency_ms']['p90']} ms (delivery "
              f"median {w['delivery_ms']['median']} ms, accept {w['accept_ms']['median']} ms)",
              flush=True)
    if "agents" in args.parts:
        runs = []
        for n in args.agents:
            r = measure_agents(n, args.learning_starts, args.agents_window_s,
                               args.agents_warmup_s)
            r["ratio_vs_1_agent"] = None
            runs.append(r)
            busy = 100 * r["machine_cpu_busy_fraction"]
            print(f"{n} agent(s): {r['steps_per_s']:.1f} env steps/s; stack uses "
                  f"{r['stack_cpu_cores']:.2f} cores, machine {busy:.0f} % busy; per "
                  f"process {r['cpu_cores']}", flush=True)
        one = next((r["steps_per_s"] for r in runs if r["num_agents"] == 1), None)
        for r in runs:
            r["ratio_vs_1_agent"] = round(r["steps_per_s"] / one, 2) if one else None
        four = next((r["ratio_vs_1_agent"] for r in runs if r["num_agents"] == 4), None)
        bound = next((round(r["steps_per_s_bound_all_cores"] / one, 2) for r in runs
                      if r["num_agents"] == 4 and one), None)
        report["agents"] = {"learning_starts": args.learning_starts,
                            "window_s": args.agents_window_s, "runs": runs,
                            "goal_ratio_4_vs_1": GOAL_AGENT_RATIO, "ratio_4_vs_1": four,
                            "goal_met": None if four is None else four >= GOAL_AGENT_RATIO,
                            "ratio_4_vs_1_bound_all_cores": bound,
                            "note": "the learner never trains (learning_starts): agents act "
                                    "with random warm-up actions, no policy inference"}
        print("ratio to 1 agent: " + ", ".join(f"{r['num_agents']}: {r['ratio_vs_1_agent']}"
                                               for r in runs), flush=True)
        if bound is not None:
            print(f"CPU bound: at 4 agents' CPU per step, all {os.cpu_count()} cores would give "
                  f"at most {bound}x the 1-agent rate", flush=True)
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
