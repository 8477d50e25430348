"""evaluate --record through the ROS stack: a recorder node beside real node processes."""

import pytest

pytest.importorskip("rclpy", reason="e2e tests need ./env.sh (run `make test`)")

from td3_driving.apps import evaluate  # noqa: E402
from td3_driving.recording.bag import bag_topics, read_bag  # noqa: E402
from td3_driving.recording.video import count_frames  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(420)]
R = "ego_vehicle"


def test_one_episode_through_the_stack_is_recorded_and_rendered(tmp_path, capsys):
    bags, video = tmp_path / "bags", tmp_path / "drive.mp4"
    assert evaluate.main(["--random", "--episodes", "1", "--record", str(bags),
                          "--video", str(video)]) == 0
    first = bags / "episode_0000"
    topics = bag_topics(first)
    images = topics[f"/carla/{R}/rgb_front/image"]
    assert images[0] == "sensor_msgs/msg/Image"
    for name in ("odometry", "vehicle_control_cmd", "waypoints", "rgb_front/camera_info"):
        assert f"/carla/{R}/{name}" in topics
    assert topics[f"/sim/{R}/episode_score"] == ("td3_driving/msg/EpisodeStats", 1)
    assert f"/{R}/agent/observation" in topics   # the agent's debug topics
    (stats,) = [m for _, _, _, m in read_bag(first, (f"/sim/{R}/episode_score",))]
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9
              for _, _, _, m in read_bag(first, (f"/carla/{R}/rgb_front/image",))]
    # every tick from the first one the recorder saw to the episode's end, none dropped;
    # ticks the simulator ran before the recorder's subscription matched are not there
    assert stamps == pytest.approx([stamps[0] + 0.08 * i for i in range(len(stamps))])
    assert stamps[-1] == pytest.approx(stats.header.stamp.sec
                                       + stats.header.stamp.nanosec * 1e-9, abs=0.081)
    assert 0.5 * stats.length <= images[1] <= stats.length + 1
    assert topics["/tf"][1] >= images[1]
    assert count_frames(video) == images[1]
    assert "recordings: 1 bag(s)" in capsys.readouterr().out
