"""QoS profiles, chosen on purpose and matched to carla-ros-bridge (docs/architecture.md)."""

from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSCompatibility,
    QoSProfile,
    ReliabilityPolicy,
    qos_check_compatible,
)


def _profile(depth: int, latched: bool = False) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


# The bridge's per-tick sensor and control topics: reliable, keep last 10, volatile.
BRIDGE = _profile(10)
# vehicle_info: published once, late joiners still get it.
BRIDGE_LATCHED = _profile(10, latched=True)
# waypoints: depth 1, transient local; republished on every (re)route.
WAYPOINTS = _profile(1, latched=True)
# The bridge's vehicle_control_manual_override subscription: depth 1, transient local.
MANUAL_OVERRIDE = _profile(1, latched=True)
# Experience batches: reliable so that drops only happen where we count them.
REPLAY = _profile(100)
# Policy weights: the newest version only, delivered to late-joining agents too.
WEIGHTS = _profile(1, latched=True)
# Episode statistics and diagnostics.
STATS = _profile(100)

# No QoS-event handlers (rclpy's default ones log an incompatible QoS or type): each is a
# waitable that every turn of the node's executor walks in Python, two per publisher and
# subscription, so a node with many topics pays for them on every message it receives.
# For nodes on the per-tick path (README, "Where the CPU goes"); such a node looks for an
# incompatible peer with incompatible_peers() instead, while it waits for its first data,
# and the peers' own default handlers (rviz2, `ros2 topic`, carla-ros-bridge) still report.
NO_EVENTS_PUB = PublisherEventCallbacks(use_default_callbacks=False)
NO_EVENTS_SUB = SubscriptionEventCallbacks(use_default_callbacks=False)


def incompatible_peers(node: Node) -> dict[str, str]:
    """Topic -> why, for each topic of ``node`` where a peer's QoS cannot match its own.

    Publishers of the node's subscriptions and subscriptions of its publishers, as the
    graph knows them now (what rclpy's default incompatible-QoS handlers would log).
    """
    found = {}
    pairs = [(sub.topic_name, node.get_publishers_info_by_topic, sub.qos_profile, False)
             for sub in node.subscriptions]
    pairs += [(pub.topic_name, node.get_subscriptions_info_by_topic, pub.qos_profile, True)
              for pub in node.publishers]
    for topic, peers, own, own_is_publisher in pairs:
        for peer in peers(topic):
            offered, requested = (own, peer.qos_profile) if own_is_publisher else \
                (peer.qos_profile, own)
            compatible, reason = qos_check_compatible(offered, requested)
            if compatible == QoSCompatibility.ERROR:
                who = f"{peer.node_namespace.rstrip('/')}/{peer.node_name}"
                found[topic] = (f"{topic}: {'subscription' if own_is_publisher else 'publisher'}"
                                f" {who} has a QoS that cannot match ours ({reason}); no "
                                "messages pass between us")
    return found
