"""The learner node in a test graph, and a fake agent that talks to it over topics."""

from rcl_interfaces.msg import Log
from rclpy.parameter import Parameter

from support.learner import TINY, Producer
from td3_driving.bringup.stack import LEARNER_STATUS_TOPIC, REPLAY_TOPIC, WEIGHTS_TOPIC
from td3_driving.msg import ExperienceBatch, LearnerStatus, PolicyWeights
from td3_driving.nodes.learner import LearnerNode
from td3_driving.ros import qos
from td3_driving.ros.experience_msg import step_batch_to_msg


def make_learner(graph, run_dir, **overrides) -> LearnerNode:
    values = {**TINY, "run_dir": str(run_dir), **overrides}
    params = [Parameter(k, value=v) for k, v in values.items()]
    return graph.add(LearnerNode(context=graph.context, parameter_overrides=params))


def remove(graph, node) -> None:
    """Stop a node as run_node would (close, then destroy) before the test ends."""
    graph.nodes.remove(node)
    graph.executor.remove_node(node)
    node.close()
    node.destroy_node()


class FakeAgent:
    """Publishes experience, obeys the learner's backpressure, records what it receives."""

    def __init__(self, graph, name="fake_agent", agent_id="hero0"):
        self.node = graph.node(name)
        self.producer = Producer(agent_id)
        self.pub = self.node.create_publisher(ExperienceBatch, REPLAY_TOPIC, qos.REPLAY)
        self.status: list[LearnerStatus] = []
        self.weights: list[PolicyWeights] = []
        self.logs: list[Log] = []
        self.node.create_subscription(LearnerStatus, LEARNER_STATUS_TOPIC,
                                      self.status.append, qos.STATS)
        self.node.create_subscription(PolicyWeights, WEIGHTS_TOPIC, self.weights.append,
                                      qos.WEIGHTS)
        self.node.create_subscription(Log, "/rosout", self.logs.append, qos.STATS)
        self.sent = 0
        self.held_back = 0   # times a batch was ready but steps_allowed said wait

    def connected(self) -> bool:
        return self.pub.get_subscription_count() > 0 and bool(self.status)

    def send(self, n, **kwargs) -> None:
        self.pub.publish(step_batch_to_msg(self.producer.batch(n, **kwargs)))
        self.sent += n

    def send_if_allowed(self, n) -> bool:
        """Send one batch if the newest status allows it (as the real agent does)."""
        if not self.status or self.sent + n > self.status[-1].steps_allowed:
            self.held_back += 1
            return False
        self.send(n)
        return True

    def log_text(self, level) -> str:
        return "\n".join(m.msg for m in self.logs if m.level == level)
