"""QoS profiles, chosen on purpose and matched to carla-ros-bridge (docs/architecture.md)."""

from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


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
# subscription, so a node with many topics pays for them on every message it receives. The
# peer's own default handlers still report a mismatch (the agent, rviz2, `ros2 topic`).
# For nodes on the per-tick path (README, "Where the CPU goes").
NO_EVENTS_PUB = PublisherEventCallbacks(use_default_callbacks=False)
NO_EVENTS_SUB = SubscriptionEventCallbacks(use_default_callbacks=False)
