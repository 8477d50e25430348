"""Property tests: whatever a peer sends on any topic the agent subscribes to, it survives.

For every message type the agent node subscribes to, hypothesis generates messages (every
field arbitrary, or a valid message with one field replaced by an arbitrary value; for a
raw subscription also arbitrary or truncated bytes) and feeds them to the node's real
subscription callback. Properties after each message:
- no exception escapes the callback, and none reached its last-resort guard (each bad
  value is caught by the validation meant for it: ``AgentNode.refusals.unexpected`` stays 0);
- the acting policy changes only to weights the gate accepted;
- every experience batch the agent sends is valid (finite, within the message's ranges);
- the next valid frame is answered with exactly one command stamped with its stamp.

Fast in ``make test`` (FAST examples per type); ``-m slow`` sweeps SLOW per type.
"""

import importlib
import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")
from carla_msgs.msg import CarlaEgoVehicleStatus  # noqa: E402
from geometry_msgs.msg import PoseStamped  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from nav_msgs.msg import Odometry, Path  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402
from support.fake_bridge import NS, circle, make_agent  # noqa: E402

from td3_driving.bringup import stack  # noqa: E402
from td3_driving.msg import LearnerStatus  # noqa: E402
from td3_driving.ros.geometry import yaw_to_quaternion  # noqa: E402
from td3_driving.ros.image import array_to_image, rgb_to_bgra  # noqa: E402
from td3_driving.ros.sim_messages import sim_stamp  # noqa: E402

pytestmark = pytest.mark.ros
FAST, SLOW = 25, 400
DT = 0.08
TOPICS = [f"{NS}/rgb_front/image", f"{NS}/odometry", f"{NS}/vehicle_status",
          f"{NS}/collision", f"{NS}/lane_invasion", f"{NS}/waypoints", "/carla/status",
          stack.WEIGHTS_TOPIC, stack.LEARNER_STATUS_TOPIC]
_INTS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}


def _scalar(kind: str):
    if kind in ("float", "double"):
        return st.floats(width=32 if kind == "float" else 64)
    if kind in _INTS:
        bits = _INTS[kind]
        return st.integers(-2 ** (bits - 1), 2 ** (bits - 1) - 1)
    if kind.startswith("uint") or kind in ("octet", "byte", "char"):
        bits = int(kind[4:]) if kind.startswith("uint") else 8
        return st.integers(0, 2 ** bits - 1)
    if kind == "boolean":
        return st.booleans()
    if kind.startswith("string"):
        return st.text(max_size=12)
    return None


def values(kind: str):
    """A strategy for one field of ROS 2 type string ``kind`` (rosidl's spelling)."""
    if kind.startswith("sequence<"):
        inner = kind[len("sequence<"):-1].split(",")[0].strip()
        if inner in ("uint8", "octet"):
            return st.binary(max_size=256).map(bytes)
        return st.lists(values(inner), max_size=6)
    if kind.endswith("]"):
        inner, n = kind[:-1].split("[")
        return st.lists(values(inner), min_size=int(n), max_size=int(n))
    scalar = _scalar(kind)
    if scalar is not None:
        return scalar
    pkg, name = kind.split("/")
    return messages(getattr(importlib.import_module(f"{pkg}.msg"), name))


def messages(cls):
    """Messages of ``cls`` with every field arbitrary."""
    fields = cls.get_fields_and_field_types()
    return st.fixed_dictionaries({f: st.deferred(lambda k=k: values(k))
                                  for f, k in fields.items()}).map(lambda d: cls(**d))


def mutated(valid, cls):
    """A valid message with one (possibly nested) field replaced by an arbitrary value."""
    def paths(c, prefix=""):
        out = []
        for f, k in c.get_fields_and_field_types().items():
            out.append((prefix + f, k))
            if "/" in k and not k.startswith("sequence") and not k.endswith("]"):
                pkg, name = k.split("/")
                out += paths(getattr(importlib.import_module(f"{pkg}.msg"), name),
                             prefix + f + ".")
        return out

    def replace(path_kind, value):
        path, _ = path_kind
        msg = valid()
        *parents, last = path.split(".")
        target = msg
        for p in parents:
            target = getattr(target, p)
        setattr(target, last, value)
        return msg
    return st.sampled_from(paths(cls)).flatmap(
        lambda pk: values(pk[1]).map(lambda v: replace(pk, v)))


class Harness:
    """The agent node in a graph, fed through its subscriptions' callbacks directly."""

    def __init__(self, graph):
        self.agent = agent = make_agent(graph)
        # a raw subscription (the waypoints) takes the serialized message, as rclpy hands it
        self.callbacks = {s.topic_name: (lambda m, cb=s.callback: cb(
            m if isinstance(m, bytes) else serialize_message(m))) if s.raw else s.callback
            for s in agent.subscriptions}
        self.controls, self.batch_errors = [], []
        out = agent.out   # what the agent loop sends out
        publish_control, send = out.control, out.experience

        def control(c):
            self.controls.append(c)
            publish_control(c)

        def experience(batch):
            try:
                batch.validate()
            except ValueError as exc:
                self.batch_errors.append(str(exc))
            return send(batch)
        out.control, out.experience = control, experience
        self.t = 10.0
        self.angle = 0.0
        self.feed("waypoints", self.path())
        for _ in range(4):
            self.frame()
        assert agent.loop.phase == "running"

    def feed(self, topic, msg):
        name = topic if topic.startswith("/") else f"{NS}/{topic}"
        self.callbacks[name](msg)

    def path(self):
        msg = Path()
        for x, y in circle():
            ps = PoseStamped()
            ps.pose.position.x, ps.pose.position.y = float(x), float(y)
            msg.poses.append(ps)
        return msg

    def image(self):
        msg = array_to_image(rgb_to_bgra(np.full((24, 24, 3), 90, np.uint8)), "bgra8")
        msg.header.stamp = sim_stamp(self.t)
        return msg

    def odometry(self):
        msg = Odometry()
        msg.header.stamp = sim_stamp(self.t)
        p = msg.pose.pose
        p.position.x, p.position.y = 50 * math.cos(self.angle), 50 * math.sin(self.angle)
        p.orientation = yaw_to_quaternion(self.angle + math.pi / 2)
        msg.twist.twist.linear.x = 10.0
        return msg

    def status(self):
        msg = CarlaEgoVehicleStatus()
        msg.header.stamp = sim_stamp(self.t)
        msg.control.throttle = 0.5
        return msg

    def frame(self, **replace):
        """One frame (the next stamp); ``replace`` swaps in a part. True if answered."""
        self.t += DT
        self.angle += 0.016
        n = len(self.controls)
        for part, topic in (("image", "rgb_front/image"), ("status", "vehicle_status"),
                            ("odometry", "odometry")):
            msg = replace.get(part) or getattr(self, part)()
            self.feed(topic, msg)
        return len(self.controls) > n

    def check(self):
        """The properties every message must leave true."""
        agent = self.agent
        assert not agent.refusals.unexpected, agent.refusals.unexpected
        assert not self.batch_errors, self.batch_errors[:3]
        assert agent.loop.policy_version < 2 ** 32
        stamp = round((self.t + DT) * 1e9)
        for _ in range(3):   # a frame the fuzzed one left pending may complete first
            if self.frame() and self.controls[-1].stamp_ns == stamp:
                return
            stamp = round((self.t + DT) * 1e9)
        pytest.fail("the next valid frames were not answered")


@pytest.fixture
def harness(graph):
    return Harness(graph)


def _strategy(h: Harness, topic: str):
    sub = next(s for s in h.agent.subscriptions if s.topic_name == topic)
    cls = sub.msg_type
    valid = {f"{NS}/rgb_front/image": h.image, f"{NS}/odometry": h.odometry,
             f"{NS}/vehicle_status": h.status, f"{NS}/waypoints": h.path}.get(topic, cls)
    found = st.one_of(messages(cls), mutated(valid, cls))
    if sub.raw:   # any bytes reach a raw subscription, whole or cut short
        found = st.one_of(found, st.binary(max_size=512),
                          st.tuples(found, st.integers(0, 2000)).map(
                              lambda m_cut: serialize_message(m_cut[0])[:m_cut[1]]))
    return found


def _run(h: Harness, topic: str, data, n: int) -> None:
    counted = {"cases": 0}

    @settings(max_examples=n, deadline=None, derandomize=n == FAST,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def prop(d):
        msg = d.draw(_strategy(h, topic))
        before = h.agent.loop.policy
        if topic.endswith(("/rgb_front/image", "/odometry", "/vehicle_status")):
            part = {"rgb_front/image": "image", "odometry": "odometry",
                    "vehicle_status": "status"}[topic.split(f"{NS}/")[1]]
            h.frame(**{part: msg})
        else:
            h.callbacks[topic](msg)
        if topic != stack.WEIGHTS_TOPIC:
            assert h.agent.loop.policy is before
        if topic == stack.LEARNER_STATUS_TOPIC:
            # a status without budget holds the agent (backpressure, as it should); the
            # next status with budget must release it
            h.callbacks[topic](LearnerStatus(steps_received=0, steps_allowed=2**62))
            assert h.agent.loop.held_frame is None
        counted["cases"] += 1
        h.check()
    prop()
    data.append((topic, counted["cases"]))


CASES: list = []


@pytest.mark.parametrize("topic", TOPICS)
def test_no_message_on_any_subscription_breaks_the_agent(harness, topic):
    _run(harness, topic, CASES, FAST)


@pytest.mark.slow
@pytest.mark.parametrize("topic", TOPICS)
def test_no_message_on_any_subscription_breaks_the_agent_long_sweep(harness, topic):
    _run(harness, topic, CASES, SLOW)


def teardown_module(_module):
    if CASES:
        print("\ngenerated cases per topic: " + ", ".join(f"{t}: {n}" for t, n in CASES))
