"""evaluate --record / --video in-process: bags read back, videos decode frame by frame."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="recordings serialize with rclpy: run under ./env.sh")

from td3_driving.apps import evaluate  # noqa: E402
from td3_driving.core.checkpoint import save_checkpoint  # noqa: E402
from td3_driving.core.policy import export_policy  # noqa: E402
from td3_driving.core.td3 import TD3Agent  # noqa: E402
from td3_driving.recording.bag import bag_topics, custom_data, read_bag  # noqa: E402
from td3_driving.recording.critic import CriticQ  # noqa: E402
from td3_driving.recording.video import bag_to_video, count_frames  # noqa: E402
from td3_driving.sim.config import CarRacingConfig  # noqa: E402
from td3_driving.task.driving import DRIVING_LEARNER, VECTOR_FIELDS  # noqa: E402

pytestmark = pytest.mark.ros
FRAMES = 48            # physics frames per episode: 12 agent steps of 4 frames
STEPS = FRAMES // 4
DT_NS = 80_000_000     # one agent step, 0.08 s of simulator time
R = "ego_vehicle"
TERMS = ("progress", "center", "heading", "smoothness")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A run directory as the in-process trainer leaves it: checkpoint.pt + policy file."""
    run = tmp_path_factory.mktemp("run")
    agent = TD3Agent(DRIVING_LEARNER)
    save_checkpoint(run / "checkpoint.pt", agent)
    export_policy(agent, run / "policy.safetensors")
    return run


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, trained_run):
    out = tmp_path_factory.mktemp("bags") / "bags"
    result = evaluate.evaluate_recorded(str(trained_run / "policy.safetensors"), 2, 7, out,
                                        sim_config=CarRacingConfig(max_episode_frames=FRAMES))
    return result


def test_one_bag_per_episode_with_metadata_yaml(recorded):
    bags = [Path(b) for b in recorded["bags"]]
    assert [b.name for b in bags] == ["episode_0000_track7", "episode_0001_track8"]
    for bag in bags:
        assert (bag / "metadata.yaml").is_file(), "ros2 bag info needs metadata.yaml"
        assert len(list(bag.glob("*.mcap"))) == 1


def test_topics_types_and_counts(recorded):
    topics = bag_topics(recorded["bags"][0])
    expected = {
        f"/carla/{R}/rgb_front/image": ("sensor_msgs/msg/Image", STEPS + 1),
        f"/carla/{R}/rgb_front/camera_info": ("sensor_msgs/msg/CameraInfo", STEPS + 1),
        f"/carla/{R}/odometry": ("nav_msgs/msg/Odometry", STEPS + 1),
        "/tf": ("tf2_msgs/msg/TFMessage", STEPS + 1),
        f"/carla/{R}/waypoints": ("nav_msgs/msg/Path", 1),
        f"/carla/{R}/vehicle_control_cmd": ("carla_msgs/msg/CarlaEgoVehicleControl", STEPS),
        f"/td3/{R}/observation/image": ("sensor_msgs/msg/Image", STEPS + 1),
        f"/td3/{R}/observation/vector": ("std_msgs/msg/Float32MultiArray", STEPS + 1),
        f"/td3/{R}/reward": ("std_msgs/msg/Float32", STEPS),
        f"/td3/{R}/q": ("std_msgs/msg/Float32", STEPS),
        "/td3/episode_stats": ("td3_driving/msg/EpisodeStats", 1),
        **{f"/td3/{R}/reward/{t}": ("std_msgs/msg/Float32", STEPS) for t in TERMS},
    }
    assert topics == expected


def test_timestamps_are_simulator_time_in_steps(recorded):
    first, second = ([s for t, _, s, _ in read_bag(b, (f"/carla/{R}/rgb_front/image",))]
                     for b in recorded["bags"])
    assert np.all(np.diff(first) == DT_NS)
    assert first[0] == DT_NS   # time 0 reads as "unset" in ROS
    # the clock runs on across episodes: the reset's frame is the next tick
    assert second[0] == first[-1] + DT_NS
    for topic, _, stamp, msg in read_bag(recorded["bags"][0]):
        if hasattr(msg, "header"):
            header_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            assert header_ns == stamp, topic


def test_contents_match_the_episode(recorded, trained_run):
    bag = recorded["bags"][0]
    msgs = {}
    for topic, _, stamp, msg in read_bag(bag):
        msgs.setdefault(topic, []).append((stamp, msg))
    image = msgs[f"/carla/{R}/rgb_front/image"][0][1]
    assert (image.encoding, image.width, image.height) == ("rgb8", 96, 84)
    obs = msgs[f"/td3/{R}/observation/image"][0][1]
    assert (obs.encoding, obs.width, obs.height) == ("mono8", 4 * 84, 84)
    vector = msgs[f"/td3/{R}/observation/vector"][0][1]
    assert vector.layout.dim[0].label.split(",") == [n for n, _, _ in VECTOR_FIELDS]
    rewards = [m.data for _, m in msgs[f"/td3/{R}/reward"]]
    terms = np.sum([[m.data for _, m in msgs[f"/td3/{R}/reward/{t}"]] for t in TERMS], axis=0)
    np.testing.assert_allclose(rewards, terms, atol=1e-5)   # float32 on the wire
    stats = msgs["/td3/episode_stats"][0][1]
    assert stats.length == STEPS and stats.evaluation
    assert math.isclose(stats.episode_return, sum(rewards), abs_tol=1e-3)
    assert stats.native_score == pytest.approx(recorded["episodes"][0]["native_score"])
    assert json.loads(custom_data(bag)["episode_stats"])["length"] == STEPS
    # Q is the checkpoint critic's min(Q1, Q2) of the action the policy took, recomputed
    critic = CriticQ(trained_run / "checkpoint.pt")
    vec0 = np.asarray(vector.data, np.float32)
    obs0 = {"image": np.asarray(obs.data, np.uint8).reshape(84, 4, 84).transpose(1, 0, 2),
            "vector": vec0}
    cmd = msgs[f"/carla/{R}/vehicle_control_cmd"][0][1]
    from td3_driving.core.policy import Policy
    action = Policy.load(trained_run / "policy.safetensors").act(obs0)
    assert msgs[f"/td3/{R}/q"][0][1].data == pytest.approx(critic(obs0, action), abs=1e-5)
    assert -1.0 <= cmd.steer <= 1.0


def test_foxglove_reads_the_mcap_schemas(recorded):
    """mcap-ros2-support decodes every message from the schemas stored in the file."""
    from mcap_ros2.reader import read_ros2_messages
    mcap = next(Path(recorded["bags"][0]).glob("*.mcap"))
    counts = {}
    for m in read_ros2_messages(str(mcap)):
        counts[m.channel.topic] = counts.get(m.channel.topic, 0) + 1
    assert counts == {t: n for t, (_, n) in bag_topics(recorded["bags"][0]).items()}


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_video_of_a_bag_has_one_frame_per_camera_image(recorded, tmp_path, suffix):
    out = tmp_path / f"drive{suffix}"
    written = bag_to_video(recorded["bags"][0], out)
    assert written == STEPS + 1
    assert count_frames(out) == STEPS + 1


def test_cli_records_and_renders_without_a_critic(tmp_path, capsys, monkeypatch):
    bags, video = tmp_path / "bags", tmp_path / "random.mp4"
    short = CarRacingConfig(max_episode_frames=FRAMES)
    original = evaluate.evaluate_recorded
    monkeypatch.setattr(evaluate, "evaluate_recorded",
                        lambda *a, **k: original(*a, sim_config=short, **k))
    assert evaluate.main(["--random", "--in_process", "--episodes", "1", "--record",
                          str(bags), "--video", str(video)]) == 0
    out = capsys.readouterr().out
    assert "recordings: 1 bag(s)" in out and f"{STEPS + 1} frames" in out
    assert count_frames(video) == STEPS + 1
    assert f"/td3/{R}/q" not in bag_topics(next(bags.iterdir()))   # no critic, no Q


def test_cli_refuses_a_non_empty_record_folder(tmp_path):
    (tmp_path / "old").mkdir()
    with pytest.raises(SystemExit):
        evaluate.main(["--random", "--in_process", "--record", str(tmp_path)])
    assert (tmp_path / "old").is_dir()


def test_type_hashes_match_the_built_messages(recorded):
    """ros2 bag play matches types by hash: ours must be those colcon generated."""
    import os

    import yaml
    meta = yaml.safe_load((Path(recorded["bags"][0]) / "metadata.yaml").read_text())
    topics = meta["rosbag2_bagfile_information"]["topics_with_message_count"]
    checked = 0
    for entry in topics:
        pkg, _, name = entry["topic_metadata"]["type"].split("/")
        for prefix in os.environ["AMENT_PREFIX_PATH"].split(os.pathsep):
            desc = Path(prefix) / "share" / pkg / "msg" / f"{name}.json"
            if desc.is_file():
                built = json.loads(desc.read_text())["type_hashes"][0]["hash_string"]
                assert entry["topic_metadata"]["type_description_hash"] == built, pkg + name
                checked += 1
                break
    assert checked >= 3   # at least ours, carla_msgs and one standard package


def test_video_command_renders_a_bag_and_names_a_bad_one(recorded, tmp_path, capsys):
    from td3_driving.apps import video
    out = tmp_path / "ep.gif"
    assert video.main([recorded["bags"][1], str(out), "--scale", "2"]) == 0
    assert count_frames(out) == STEPS + 1
    assert video.main([str(tmp_path), str(tmp_path / "x.mp4")]) == 2
    assert "not a readable rosbag2 folder" in capsys.readouterr().err
