"""The recorder node: one bag per simulator episode, from the topics a stack publishes."""

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS tests need ./env.sh (run `make test`)")

from builtin_interfaces.msg import Time  # noqa: E402
from carla_msgs.msg import CarlaEgoVehicleControl  # noqa: E402
from nav_msgs.msg import Odometry, Path  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from td3_driving.apps.record import RecorderNode  # noqa: E402
from td3_driving.msg import EpisodeStats  # noqa: E402
from td3_driving.recording.bag import bag_topics, custom_data, read_bag  # noqa: E402
from td3_driving.ros import qos  # noqa: E402
from td3_driving.ros.image import array_to_image  # noqa: E402

pytestmark = pytest.mark.ros
R = "ego_vehicle"


def test_one_bag_per_episode_with_the_route_in_each(graph, tmp_path):
    recorder = graph.add(RecorderNode(tmp_path, R, context=graph.context,
                                      parameter_overrides=[Parameter("use_sim_time",
                                                                     value=False)]))
    pub = graph.node("fake_stack")
    image_pub = pub.create_publisher(Image, f"/carla/{R}/rgb_front/image", qos.BRIDGE)
    odom_pub = pub.create_publisher(Odometry, f"/carla/{R}/odometry", qos.BRIDGE)
    cmd_pub = pub.create_publisher(CarlaEgoVehicleControl, f"/carla/{R}/vehicle_control_cmd",
                                   qos.BRIDGE)
    route_pub = pub.create_publisher(Path, f"/carla/{R}/waypoints", qos.WAYPOINTS)
    end_pub = pub.create_publisher(EpisodeStats, f"/sim/{R}/episode_score", qos.STATS)
    def stamped(msg, sec):
        msg.header.stamp = Time(sec=sec)
        return msg

    route_pub.publish(stamped(Path(), 0))
    assert graph.spin_until(lambda: recorder.paths, timeout=10.0)

    def episode(first, n):
        for sec in range(first, first + n):
            image_pub.publish(stamped(array_to_image(np.full((8, 8, 4), sec, np.uint8),
                                                     "bgra8"), sec))
            odom_pub.publish(stamped(Odometry(), sec))
            cmd_pub.publish(stamped(CarlaEgoVehicleControl(steer=0.01 * sec), sec))
        before = recorder.episodes
        # the end may overtake the episode's last frames: they still go into its bag
        end_pub.publish(stamped(EpisodeStats(length=n), first + n - 1))
        assert graph.spin_until(lambda: recorder.episodes == before + 1 and recorder.bag
                                .counts.get(f"/carla/{R}/rgb_front/image") == n)

    # discovery: wait until every publisher is matched before counting messages
    assert graph.spin_until(lambda: all(p.get_subscription_count() > 0 for p in
                                        (image_pub, odom_pub, cmd_pub, end_pub)))
    episode(0, 5)
    route_pub.publish(stamped(Path(), 10))   # the next track's route starts the next bag
    episode(10, 3)
    image_pub.publish(stamped(array_to_image(np.zeros((8, 8, 4), np.uint8), "bgra8"), 20))
    assert graph.spin_until(lambda: len(recorder.paths) == 3)
    assert [p.name for p in recorder.paths][:2] == ["episode_0000", "episode_0001"]
    first, second = (bag_topics(p) for p in recorder.paths[:2])
    assert first[f"/carla/{R}/rgb_front/image"] == ("sensor_msgs/msg/Image", 5)
    assert first[f"/carla/{R}/vehicle_control_cmd"][1] == 5
    assert first[f"/sim/{R}/episode_score"] == ("td3_driving/msg/EpisodeStats", 1)
    assert second[f"/carla/{R}/rgb_front/image"][1] == 3
    assert first[f"/carla/{R}/waypoints"][1] == 1
    # the new route is in the second bag (after the old one if a frame arrived first)
    routes = [m for _, _, _, m in read_bag(recorder.paths[1], (f"/carla/{R}/waypoints",))]
    assert routes[-1].header.stamp.sec == 10
    stamps = [s for _, _, s, _ in read_bag(recorder.paths[0])]
    assert stamps == sorted(stamps)
    images = [m for _, _, _, m in read_bag(recorder.paths[0], (f"/carla/{R}/rgb_front/image",))]
    assert [m.header.stamp.sec for m in images] == list(range(5))
    # what arrives after the last episode end is kept, marked as no whole episode
    recorder.close()
    assert recorder.paths[-1].name == "episode_0002_incomplete"
    assert bag_topics(recorder.paths[-1])[f"/carla/{R}/rgb_front/image"][1] == 1
    assert custom_data(recorder.paths[-1]) == {"incomplete": "true"}
