"""What one "host" of the multi-host test sees, as JSON lines with wall-clock times.

    recorder.py learner OUT SECONDS     replay batches, learner status, weights arrivals
    recorder.py vehicle OUT SECONDS ROLE  the weights version ROLE's agent acts with
    recorder.py outsider OUT SECONDS    everything it receives, while it publishes fake
                                        experience and weights

Runs inside a namespace of test_namespaces.py until SECONDS pass or SIGTERM/SIGINT. All
namespaces share the machine's clock, so wall times of different hosts compare.
"""

import json
import re
import signal
import sys
import time

import rclpy
from rclpy.executors import ExternalShutdownException
from visualization_msgs.msg import Marker

from td3_driving.bringup import stack
from td3_driving.msg import ExperienceBatch, LearnerStatus, PolicyWeights
from td3_driving.ros import qos

INTRUDER = "intruder"


def main(mode: str, out: str, seconds: float, role: str = "") -> None:
    rclpy.init()
    node = rclpy.create_node(f"recorder_{mode}")
    sink = open(out, "a", buffering=1)

    def write(kind: str, **fields) -> None:
        sink.write(json.dumps({"t": time.time(), "kind": kind, **fields}) + "\n")

    def on_batch(m: ExperienceBatch) -> None:
        write("replay", agent=m.agent_id.split(":")[0], first=int(m.sequence[0])
              if len(m.sequence) else -1, n=len(m.sequence),
              versions=sorted({int(v) for v in m.policy_version}))

    def on_status(m: LearnerStatus) -> None:
        write("status", learner_step=m.learner_step, weights_version=m.weights_version,
              steps_received=m.steps_received, steps_dropped=m.steps_dropped,
              buffer_size=m.buffer_size, training=m.training)

    def on_weights(m: PolicyWeights) -> None:
        write("weights", version=m.version, bytes=len(m.data))

    last = [None]

    def on_marker(m: Marker) -> None:
        found = re.search(r"\| v(\d+)$", m.text)
        if found and int(found.group(1)) != last[0]:
            last[0] = int(found.group(1))
            write("acts_with", role=role, version=last[0])

    if mode in ("learner", "outsider"):
        node.create_subscription(ExperienceBatch, stack.REPLAY_TOPIC, on_batch, qos.REPLAY)
        node.create_subscription(LearnerStatus, stack.LEARNER_STATUS_TOPIC, on_status,
                                 qos.STATS)
        node.create_subscription(PolicyWeights, stack.WEIGHTS_TOPIC, on_weights, qos.WEIGHTS)
    if mode == "vehicle":
        node.create_subscription(Marker, f"/{role}/agent/status_marker", on_marker,
                                 qos.BRIDGE)
    if mode == "outsider":
        fake_replay = node.create_publisher(ExperienceBatch, stack.REPLAY_TOPIC, qos.REPLAY)
        fake_weights = node.create_publisher(PolicyWeights, stack.WEIGHTS_TOPIC, qos.WEIGHTS)
        sent = [0]

        def inject() -> None:
            sent[0] += 1
            fake_replay.publish(ExperienceBatch(agent_id=f"{INTRUDER}:{sent[0]}"))
            fake_weights.publish(PolicyWeights(version=10**6 + sent[0], format="safetensors"))
            write("sent", n=sent[0], matched=fake_replay.get_subscription_count()
                  + fake_weights.get_subscription_count())

        node.create_timer(0.5, inject)
    signal.signal(signal.SIGTERM, lambda *_: rclpy.try_shutdown())
    end = time.monotonic() + seconds
    try:
        while rclpy.ok() and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    write("end")
    sink.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:5])
