"""evaluate --record through the ROS stack: a recorder node beside real node processes."""

import pytest

pytest.importorskip("rclpy", reason="e2e tests need ./env.sh (run `make test`)")

from td3_driving import evaluate  # noqa: E402
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
    # one episode of the protocol: the simulator's 1000 frames at 4 per tick
    assert images[1] == 250
    for name in ("odometry", "vehicle_control_cmd", "waypoints"):
        assert f"/carla/{R}/{name}" in topics
    assert topics["/tf"][1] == 250
    assert topics[f"/sim/{R}/episode_score"] == ("td3_driving/msg/EpisodeStats", 1)
    assert f"/{R}/agent/observation" in topics   # the agent's debug topics
    stamps = [s for _, _, s, _ in read_bag(first, (f"/carla/{R}/rgb_front/image",))]
    assert stamps == sorted(stamps) and stamps[0] > 0   # simulator time (/clock)
    assert count_frames(video) == 250
    assert "recordings: 1 bag(s)" in capsys.readouterr().out
