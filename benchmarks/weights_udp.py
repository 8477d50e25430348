"""Weights over UDP between two "hosts" (network namespaces): latency and resent bytes.

    sudo ./env.sh python -m benchmarks.weights_udp [--messages 30]

Publishes ``--messages`` PolicyWeights of 7.5 MB (the default pixel actor's size), one a
second, reliable + transient local (the weights QoS), from one namespace to a subscriber
in another (test/multihost/netns.py: veth links, a bridge, private /dev/shm, so only UDP
can carry them), with discovery as README.md, "Many hosts". Once with the shipped
config/fastdds_profile.xml and once with the same profile without its UDP socket buffer
sizes (the OS default, net.core.rmem_default). Prints and records, per variant: publish ->
receive latency (median, p90, wall clocks of one machine) and bytes received on the
subscriber's interface per payload byte (fragments resent after the socket buffer
overflowed). Writes docs/benchmarks/results/weights_udp.json. Needs root.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS, ROOT, report_header, write_json

sys.path.insert(0, str(ROOT / "test" / "multihost"))
import netns  # noqa: E402

PAYLOAD = 7_500_000


def publish(count: int) -> None:
    import numpy as np
    import rclpy

    from td3_driving.bringup import stack
    from td3_driving.msg import PolicyWeights
    from td3_driving.ros import qos
    rclpy.init()
    node = rclpy.create_node("bench_weights_pub")
    pub = node.create_publisher(PolicyWeights, stack.WEIGHTS_TOPIC, qos.WEIGHTS)
    data = np.random.default_rng(0).integers(0, 255, PAYLOAD, dtype=np.uint8).tobytes()
    deadline = time.monotonic() + 60
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    for version in range(1, count + 1):
        msg = PolicyWeights(version=version, format="bench", sha256=repr(time.time()))
        msg.data = data
        pub.publish(msg)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)


def subscribe(seconds: float) -> None:
    import rclpy

    from td3_driving.bringup import stack
    from td3_driving.msg import PolicyWeights
    from td3_driving.ros import qos
    rclpy.init()
    node = rclpy.create_node("bench_weights_sub")

    def received(msg: PolicyWeights) -> None:
        print(f"latency {time.time() - float(msg.sha256):.4f} bytes {len(msg.data)}",
              flush=True)

    node.create_subscription(PolicyWeights, stack.WEIGHTS_TOPIC, received, qos.WEIGHTS)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)


def run_variant(profile: Path, count: int, tag: str) -> dict:
    net = netns.Net(tag=tag)
    try:
        a, b = net.add_host("a", 1), net.add_host("b", 2)
        env = {**os.environ, "ROS_DOMAIN_ID": str(101 + os.getpid() % 100),
               "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "ROS_STATIC_PEERS": f"{a};{b}",
               "FASTDDS_DEFAULT_PROFILES_FILE": str(profile)}
        # as a module from the repository root (nsenter --mount resets the working
        # directory, so it is named): the child imports benchmarks.common too
        me = ["env", "-C", str(ROOT), str(ROOT / "env.sh"), "python", "-m",
              "benchmarks.weights_udp"]
        sub = subprocess.Popen(net.command("b", me + ["--role", "sub", "--seconds",
                                                      str(count + 40)]),
                               env=env, stdout=subprocess.PIPE, text=True)
        pub = subprocess.Popen(net.command("a", me + ["--role", "pub", "--messages",
                                                      str(count)]), env=env)
        out = sub.communicate()[0]
        pub.wait()
        latencies = [float(m.group(1)) for m in re.finditer(r"latency (\S+) bytes", out)]
        rx = net.rx_bytes("b")
    finally:
        net.close()
    if not latencies:
        raise SystemExit(f"{profile}: no weights message arrived")
    ordered = sorted(latencies)
    return {"profile": str(profile.relative_to(ROOT)) if profile.is_relative_to(ROOT)
            else profile.name, "received": len(latencies), "sent": count,
            "latency_s": {"median": round(statistics.median(ordered), 4),
                          "p90": round(ordered[min(int(0.9 * len(ordered)),
                                                   len(ordered) - 1)], 4)},
            "rx_bytes_per_payload_byte": round(rx / (len(latencies) * PAYLOAD), 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=30)
    p.add_argument("--role", choices=["pub", "sub"], help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--out", default=str(RESULTS / "weights_udp.json"))
    args = p.parse_args()
    if args.role == "pub":
        publish(args.messages)
        return 0
    if args.role == "sub":
        subscribe(args.seconds)
        return 0
    why = netns.available()
    if why:
        raise SystemExit(f"bench_weights_udp: {why}")
    shipped = ROOT / "config" / "fastdds_profile.xml"
    plain = Path("/tmp") / f"fastdds_profile_os_buffers_{os.getpid()}.xml"
    plain.write_text(re.sub(r"\s*<(send|receive)BufferSize>\d+</\1BufferSize>", "",
                            shipped.read_text()))
    report = report_header("weights over UDP between namespaces")
    report["payload_bytes"] = PAYLOAD
    report["socket_buffer_limits"] = {k: int(Path(f"/proc/sys/net/core/{k}").read_text())
                                      for k in ("rmem_default", "rmem_max", "wmem_default",
                                                "wmem_max")}
    report["variants"] = {
        "shipped": run_variant(shipped, args.messages, f"w{os.getpid() % 100:02d}"),
        "os_default_buffers": run_variant(plain, args.messages, f"o{os.getpid() % 100:02d}")}
    plain.unlink()
    for name, v in report["variants"].items():
        print(f"{name}: {v['received']}/{v['sent']} received, latency median "
              f"{v['latency_s']['median']} s p90 {v['latency_s']['p90']} s, "
              f"{v['rx_bytes_per_payload_byte']} bytes received per payload byte")
    write_json(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
