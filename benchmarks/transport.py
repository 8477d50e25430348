#!/usr/bin/env python3
"""Transport benchmark: the replay and weights topics, and env steps/s with 1, 2, 4 agents.

    ./env.sh python -m benchmarks.transport [--parts bytes throughput weights agents]
        [--replay_seconds 20] [--replay_window 32] [--weights_count 20] [--weights_rate 2]
        [--agents 1 2 4] [--agents_window_s 60] [--json PATH]

Four measurements, one module each (their docstrings say what each measures), run in one
go so that the record has one header (machine, load averages) for all of them; each in its
own ROS domain (a private one unless ROS_DOMAIN_ID is set to a non-zero value), Fast DDS
with the shipped profile (env.sh exports it):

- bytes: benchmarks.replay_bytes
- throughput: benchmarks.replay_throughput
- weights: benchmarks.weights_latency
- agents: benchmarks.agent_scaling

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
import sys

from benchmarks import agent_scaling, replay_bytes, replay_throughput, weights_latency
from benchmarks.common import RESULTS, begin_ros_report, write_json

PARTS = ["bytes", "throughput", "weights", "agents"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", default=PARTS, choices=PARTS)
    replay_throughput.add_arguments(p)
    weights_latency.add_arguments(p)
    agent_scaling.add_arguments(p)
    p.add_argument("--json", default=str(RESULTS / "transport.json"),
                   help="JSON report path ('' = none)")
    args = p.parse_args()
    report = begin_ros_report("transport")
    if "bytes" in args.parts:
        report["bytes"] = replay_bytes.measure()
        print(replay_bytes.summary(report["bytes"]), flush=True)
    if "throughput" in args.parts:
        report["throughput"] = replay_throughput.measure(args.replay_seconds,
                                                         args.replay_window)
        print(replay_throughput.summary(report["throughput"]), flush=True)
    if "weights" in args.parts:
        report["weights"] = weights_latency.measure(args.weights_count, args.weights_rate)
        print(weights_latency.summary(report["weights"]), flush=True)
    if "agents" in args.parts:
        report["agents"] = agent_scaling.run(args)
        print(agent_scaling.summary(report["agents"]), flush=True)
    if args.json:
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
