"""DrivingEnv (in-process) sees what an agent node sees through the bridge's messages.

Both run the same AgentLoop (episode rules, reset protocol) on the same simulator calls, so
what is left to compare is the message path: here a DrivingEnv whose frames go through the
sim_bridge's message conversions and the agent node's parsing (sensor_frame, the function
the node calls), against a plain DrivingEnv, with the same seed and actions.
"""

import numpy as np
import pytest
from std_msgs.msg import Header

from td3_driving.ros import sim_messages as sm
from td3_driving.ros.bridge import sensor_frame
from td3_driving.ros.image import array_to_image, rgb_to_bgra
from td3_driving.sim.driving_env import DrivingEnv

SEED = 11
TOPICS = {"image": "image", "odometry": "odometry", "status": "vehicle_status"}


class RosMessagesEnv(DrivingEnv):
    """DrivingEnv whose frames are built as messages and parsed as the agent node parses."""

    def _sensor_frame(self, result):
        stamp = sm.sim_stamp(self._frame_index * self.dt_ns / 1e9)
        header = Header(stamp=stamp, frame_id="map")
        applied = sm.control_msg(header, *self._applied)   # float32 fields, as on the wire
        parts = {"image": array_to_image(rgb_to_bgra(result.image), "bgra8", header),
                 "odometry": sm.odometry(header, "ego_vehicle", result.state),
                 "status": sm.vehicle_status(header, result.state, np.zeros(2), 0.0, applied)}
        events = frozenset({"off_road"}) if result.left_track else frozenset()
        return sensor_frame(self._frame_index * self.dt_ns, parts, events, TOPICS)


def test_driving_env_matches_the_ros_message_path():
    ros, env = RosMessagesEnv(SEED), DrivingEnv(SEED)
    rng = np.random.default_rng(3)
    expected, _ = ros.reset()
    obs, _ = env.reset()
    steps = ended = 0
    while steps < 150:
        np.testing.assert_array_equal(obs["image"], expected["image"])
        np.testing.assert_allclose(obs["vector"], expected["vector"], atol=1e-6)
        # Mostly throttle and mild steering, so that the car drives off the start and
        # reaches the grass (an off-road episode end) within the budget.
        action = np.array([rng.uniform(-0.6, 0.6), rng.uniform(0.0, 1.0)], np.float32)
        expected, ros_reward, ros_term, ros_trunc, ros_info = ros.step(action)
        obs, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(ros_reward, abs=1e-9)   # yaw via a quaternion
        assert (terminated, truncated) == (ros_term, ros_trunc)
        steps += 1
        if terminated or truncated:
            assert info["reason"] == ros_info["reason"]
            ended += 1
            (expected, _), (obs, _) = ros.reset(), env.reset()
    assert ended >= 1, "no episode ended: the comparison never crossed a reset"
