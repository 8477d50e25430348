"""DrivingEnv (in-process) sees what an agent node sees through the bridge's messages.

The benchmarks compare the ROS stack with in-process learners on DrivingEnv; that is only
fair if both build the same observations and rewards. Here one CarRacingSim goes through
the sim_bridge's message conversions and the agent's parsing (the ROS path, without a
graph), another through DrivingEnv, with the same seed and actions.
"""

import numpy as np
import pytest
from std_msgs.msg import Header

from td3_driving.core.actions import to_vehicle_control
from td3_driving.core.config import ActionConfig
from td3_driving.ros import sim_messages as sm
from td3_driving.ros.bridge import odometry_pose, path_points
from td3_driving.ros.image import array_to_image, image_to_rgb, rgb_to_bgra
from td3_driving.sim.carracing import CarRacingSim, resample_closed
from td3_driving.sim.config import CarRacingConfig
from td3_driving.sim.driving_env import DrivingEnv
from td3_driving.task.driving import DRIVING_OBSERVATION, DrivingTask, VehicleState
from td3_driving.task.reward import RewardConfig

SEED = 11


class RosPath:
    """The sim_bridge's messages of one tick, parsed as the agent node parses them."""

    def __init__(self) -> None:
        self.sim = CarRacingSim(CarRacingConfig(seed=SEED), frames_per_tick=4)
        self.task = DrivingTask(DRIVING_OBSERVATION, RewardConfig())
        self.header = Header(frame_id="map")

    def _observe(self, result, command) -> tuple[np.ndarray, VehicleState]:
        image = image_to_rgb(array_to_image(rgb_to_bgra(result.image), "bgra8", self.header))
        x, y, yaw, speed = odometry_pose(sm.odometry(self.header, "ego_vehicle",
                                                     result.state))
        applied = sm.control_msg(self.header, *command)   # float32 fields, as on the wire
        state = VehicleState(x, y, yaw, speed, float(applied.steer), float(applied.throttle),
                             float(applied.brake))
        return image, state

    def reset(self):
        result = self.sim.reset()
        path = sm.waypoints_path(self.header, resample_closed(self.sim.centerline(), 1.0))
        self.task.set_route(path_points(path))
        return self.task.begin(*self._observe(result, (0.0, 0.0, 0.0)))

    def step(self, action):
        cmd = sm.control_msg(self.header, *to_vehicle_control(action, ActionConfig()))
        command = (float(cmd.steer), float(cmd.throttle), float(cmd.brake))
        result = self.sim.tick(*command)
        return self.task.step(*self._observe(result, command),
                              off_road_event=result.left_track, collision=False)


def test_driving_env_matches_the_ros_message_path():
    ros, env = RosPath(), DrivingEnv(SEED)
    rng = np.random.default_rng(3)
    expected = ros.reset()
    obs, _ = env.reset()
    steps = ended = 0
    while steps < 150:
        np.testing.assert_array_equal(obs["image"], expected.image)
        np.testing.assert_allclose(obs["vector"], expected.vector, atol=1e-6)
        # Mostly throttle and mild steering, so that the car drives off the start and
        # reaches the grass (an off-road episode end) within the budget.
        action = np.array([rng.uniform(-0.6, 0.6), rng.uniform(0.0, 1.0)], np.float32)
        expected, outcome = ros.step(action)
        obs, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(outcome.reward, abs=1e-9)   # yaw via a quaternion
        assert terminated == outcome.terminated
        steps += 1
        if terminated or truncated:
            assert info["reason"] == (outcome.reason or info["reason"])
            ended += 1
            expected, (obs, _) = ros.reset(), env.reset()
    assert ended >= 1, "no episode ended: the comparison never crossed a reset"
