"""Every custom message and every carla_msgs type survives a publish/subscribe round trip."""

import math

import numpy as np
import pytest

pytest.importorskip("td3_driving.msg", reason="messages are built by `make setup`")

from carla_msgs.msg import (  # noqa: E402
    CarlaCollisionEvent,
    CarlaControl,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleInfo,
    CarlaEgoVehicleInfoWheel,
    CarlaEgoVehicleStatus,
    CarlaLaneInvasionEvent,
    CarlaStatus,
)
from tf2_msgs.msg import TFMessage  # noqa: E402

from td3_driving.msg import (  # noqa: E402
    EpisodeStats,
    ExperienceBatch,
    LearnerStatus,
    PolicyWeights,
)
from td3_driving.ros import qos  # noqa: E402


def _experience():
    n, c, h, w, k, a = 3, 1, 4, 5, 6, 2
    rng = np.random.default_rng(0)
    msg = ExperienceBatch(agent_id="hero0", frame_height=h, frame_width=w, frame_channels=c,
                          vector_size=k, action_size=a)
    msg.sequence = [10, 11, 12]
    msg.episode_id = [2, 2, 2]
    msg.step_index = [0, 1, 2]
    msg.policy_version = [7, 7, 8]
    msg.frames = rng.integers(0, 256, n * c * h * w, dtype=np.uint8).tobytes()
    msg.vectors = rng.standard_normal(n * k).astype(np.float32)
    msg.actions = rng.uniform(-1, 1, n * a).astype(np.float32)
    msg.rewards = np.array([0.0, 0.5, -1.0], np.float32)
    msg.terminated = [False, False, True]
    msg.truncated = [False, False, False]
    return msg


def _weights():
    payload = bytes(range(256)) * 40
    import hashlib
    return PolicyWeights(version=3, learner_step=1200, architecture='{"encoder": "nature"}',
                         format="safetensors", sha256=hashlib.sha256(payload).hexdigest(),
                         data=payload)


def _stats():
    return EpisodeStats(agent_id="ego_vehicle", episode_id=4, policy_version=2, evaluation=True,
                        episode_return=12.5, length=250,
                        termination_reason=EpisodeStats.REASON_ROUTE_COMPLETE,
                        native_score=812.3, route_completion=1.0, sim_time=20.0)


def _status():
    return LearnerStatus(learner_step=500, weights_version=3, steps_received=9000,
                         steps_allowed=9100, buffer_size=8800, steps_dropped=2,
                         update_to_data=0.5, updates_per_second=2.75, training=True)


def _carla_messages():
    # float32 fields use values exactly representable in float32, so == holds after DDS.
    wheel = CarlaEgoVehicleInfoWheel(tire_friction=3.5, max_steer_angle=0.75, radius=0.375)
    return [
        CarlaEgoVehicleControl(throttle=0.5, steer=-0.25, brake=0.0, gear=1),
        CarlaEgoVehicleStatus(velocity=4.0, control=CarlaEgoVehicleControl(throttle=1.0)),
        CarlaEgoVehicleInfo(id=42, type="vehicle.carracing", rolename="ego_vehicle",
                            wheels=[wheel, wheel], mass=1500.0),
        CarlaCollisionEvent(other_actor_id=7),
        CarlaLaneInvasionEvent(crossed_lane_markings=[8]),
        CarlaStatus(frame=99, fixed_delta_seconds=0.125, synchronous_mode=True),
        CarlaControl(command=CarlaControl.STEP_ONCE),
        TFMessage(),
    ]


def _round_trip(graph, msg, profile):
    received = []
    node = graph.node("round_trip")
    topic = f"/round_trip/{type(msg).__name__}"
    node.create_subscription(type(msg), topic, received.append, profile)
    pub = node.create_publisher(type(msg), topic, profile)
    assert graph.spin_until(lambda: pub.get_subscription_count() > 0, 5.0)
    pub.publish(msg)
    assert graph.spin_until(lambda: received, 5.0), f"{type(msg).__name__} never arrived"
    return received[0]


@pytest.mark.ros
@pytest.mark.parametrize("make,profile", [
    (_experience, qos.REPLAY), (_weights, qos.WEIGHTS), (_stats, qos.STATS), (_status, qos.STATS),
])
def test_custom_message_round_trip(graph, make, profile):
    sent = make()
    got = _round_trip(graph, sent, profile)
    assert got == sent


@pytest.mark.ros
@pytest.mark.parametrize("index", range(len(_carla_messages())))
def test_carla_message_round_trip(graph, index):
    sent = _carla_messages()[index]
    assert _round_trip(graph, sent, qos.BRIDGE) == sent


def test_message_constants_match_the_bridge():
    assert (CarlaControl.PLAY, CarlaControl.PAUSE, CarlaControl.STEP_ONCE) == (0, 1, 2)
    assert (CarlaLaneInvasionEvent.LANE_MARKING_OTHER, CarlaLaneInvasionEvent.LANE_MARKING_BROKEN,
            CarlaLaneInvasionEvent.LANE_MARKING_SOLID) == (0, 1, 2)
    assert math.isnan(EpisodeStats(native_score=float("nan")).native_score)
