"""In-process episodes of a DrivingEnv as ROS 2 bags: the messages a stack would publish.

The simulator's state becomes the carla-ros-bridge messages through the same conversions
sim_bridge uses (td3_driving.ros.sim_messages), serialized by rclpy and written with
td3_driving.recording.bag; what only the agent knows (processed observation, reward terms,
the critic's Q) goes on /td3/<role>/... topics. td3_driving.apps.record lists them all.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message
from std_msgs.msg import Float32, Float32MultiArray, Header, MultiArrayDimension

from td3_driving.bringup.stack import EPISODE_STATS_TOPIC
from td3_driving.core.config import OBSERVATION_PRESETS
from td3_driving.msg import EpisodeStats
from td3_driving.recording.bag import BagWriter, typestore
from td3_driving.ros.bridge import REASONS
from td3_driving.ros.image import array_to_image
from td3_driving.ros.sim_messages import (
    camera_info,
    control_msg,
    odometry,
    sim_stamp,
    transforms,
    waypoints_path,
)
from td3_driving.sim import carracing
from td3_driving.sim.config import PHYSICS_DT, SimBridgeConfig

# the simulator's own episode ends (DrivingEnv reports them as "sim:<end>")
_SIM_REASONS = {carracing.END_LAP: EpisodeStats.REASON_ROUTE_COMPLETE,
                carracing.END_PLAYFIELD: EpisodeStats.REASON_OFF_ROAD,
                carracing.END_TIME_LIMIT: EpisodeStats.REASON_TIME_LIMIT}


def ros_type(msg_or_class) -> str:
    """'sensor_msgs/msg/Image' of an rclpy message (class or instance)."""
    cls = msg_or_class if isinstance(msg_or_class, type) else type(msg_or_class)
    return f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"


def reason_code(reason: str) -> int:
    """EpisodeStats.REASON_* of a DrivingTask / DrivingEnv end reason."""
    if reason.startswith("sim:"):
        return _SIM_REASONS.get(reason[4:], EpisodeStats.REASON_UNKNOWN)
    return REASONS.get(reason, EpisodeStats.REASON_UNKNOWN)


def bag_name(episode: int, track_seed: int | None = None) -> str:
    return f"episode_{episode:04d}" + ("" if track_seed is None else f"_track{track_seed}")


class EpisodeRecorder:
    """Writes in-process episodes of a DrivingEnv (td3_driving.sim.driving_env) as bags.

    Call :meth:`begin` after ``env.reset``, :meth:`action` with each action before
    ``env.step``, :meth:`step` after it, and :meth:`end` when the episode is over
    (td3_driving.sim.driving_env.evaluate_in_process does). ``critic(obs, action)``, if
    given, is the Q recorded for each action taken.
    """

    def __init__(self, out_dir: str | Path, env, role: str = "ego_vehicle",
                 critic=None) -> None:
        self.out = Path(out_dir)
        self.env, self.role, self.critic = env, role, critic
        self.store = typestore()
        self.dt = env.frames_per_step * PHYSICS_DT
        # the TF of the camera, as the simulator node publishes it with its default FOV
        self.fov = np.deg2rad(SimBridgeConfig().camera_fov_deg)
        self.camera = env.sim.camera_mount(self.fov)
        self.tick = 0            # simulator ticks since the first episode (the clock)
        self.bag: BagWriter | None = None
        self.episodes = 0
        self.paths: list[Path] = []

    # --- topics ---------------------------------------------------------------------------
    def _stamp(self) -> int:
        return int(round((self.tick + 1) * self.dt * 1e9))   # time 0 reads as "unset" in ROS

    def _write(self, topic: str, msg) -> None:
        self.bag.write(topic, ros_type(msg), self._stamp(), serialize_message(msg))

    def _header(self, frame_id: str) -> Header:
        return Header(stamp=sim_stamp(self._stamp() / 1e9), frame_id=frame_id)

    def _frame(self, obs: dict) -> None:
        """Camera, odometry, TF and the processed observation of the newest tick."""
        tick, role = self.env.last_tick, self.role
        camera = self._header(f"{role}/rgb_front")
        self._write(f"/carla/{role}/rgb_front/image", array_to_image(tick.image, "rgb8", camera))
        height, width = tick.image.shape[:2]
        self._write(f"/carla/{role}/rgb_front/camera_info",
                    camera_info(camera, width, height, self.fov))
        self._write(f"/carla/{role}/odometry", odometry(self._header("map"), role, tick.state))
        self._write("/tf", transforms(sim_stamp(self._stamp() / 1e9), role, tick.state,
                                      *self.camera))
        if "image" in obs:
            stacked = np.asarray(obs["image"])
            tiled = np.concatenate(list(stacked), axis=1) if stacked.shape[0] > 1 \
                else stacked[0]
            encoding = "mono8" if tiled.ndim == 2 else "rgb8"
            self._write(f"/td3/{role}/observation/image",
                        array_to_image(tiled, encoding, self._header(role)))
        vector = np.asarray(obs["vector"], np.float32)
        names = [n for n, _, _ in OBSERVATION_PRESETS[self.env.task.preset][1]]
        msg = Float32MultiArray(data=vector.tolist())
        msg.layout.dim = [MultiArrayDimension(label=",".join(names) or "vector",
                                              size=len(vector), stride=len(vector))]
        self._write(f"/td3/{role}/observation/vector", msg)

    # --- episode --------------------------------------------------------------------------
    def begin(self, obs: dict, track_seed: int) -> None:
        path = self.out / bag_name(self.episodes, track_seed)
        self.bag = BagWriter(path, self.store, latched=(f"/carla/{self.role}/waypoints",))
        self.paths.append(path)
        self.episode_return, self.steps = 0.0, 0
        route = np.asarray(self.env.task.route.points)
        yaw = np.arctan2(np.diff(route[:, 1], append=route[:1, 1]),
                         np.diff(route[:, 0], append=route[:1, 0]))
        self._write(f"/carla/{self.role}/waypoints",
                    waypoints_path(self._header("map"), np.column_stack([route, yaw])))
        self._frame(obs)

    def action(self, obs: dict, action) -> None:
        """Before env.step: the critic's estimate of the action about to be taken."""
        if self.critic is not None:
            self._write(f"/td3/{self.role}/q", Float32(data=float(self.critic(obs, action))))

    def step(self, obs: dict, reward: float, info: dict) -> None:
        """After env.step: the command just applied (at the frame it answered), the new frame
        and the reward earned.
        """
        steer, throttle, brake = info["control"]
        self._write(f"/carla/{self.role}/vehicle_control_cmd",
                    control_msg(self._header(self.role), steer, throttle, brake))
        self.tick += 1
        self.steps += 1
        self.episode_return += reward
        self._frame(obs)
        self._write(f"/td3/{self.role}/reward", Float32(data=float(reward)))
        for term, value in info.get("reward_terms", {}).items():
            self._write(f"/td3/{self.role}/reward/{term}", Float32(data=float(value)))

    def end(self, info: dict, episode_id: int) -> dict:
        """Write the episode's statistics and close the bag; returns them as a dict."""
        stats = EpisodeStats(header=self._header("map"), agent_id=self.role,
                             episode_id=episode_id, evaluation=True,
                             episode_return=float(self.episode_return), length=self.steps,
                             termination_reason=reason_code(info.get("reason", "")),
                             native_score=float(info.get("native_score", float("nan"))),
                             route_completion=float(info.get("route_completion", 0.0)),
                             sim_time=self.steps * self.dt)
        self._write(EPISODE_STATS_TOPIC, stats)
        summary = {"episode": episode_id, "track_seed": info.get("track_seed"),
                   "return": stats.episode_return, "length": self.steps,
                   "reason": info.get("reason", ""), "native_score": stats.native_score,
                   "route_completion": stats.route_completion, "sim_time_s": stats.sim_time}
        self.bag.set_custom_data("episode_stats", json.dumps(summary))
        self.bag.close()
        self.bag = None
        self.tick += 1   # the next episode starts on the next tick
        self.episodes += 1
        return summary

    def close(self) -> None:
        if self.bag is not None:   # an episode cut short (interrupt): keep what was recorded
            self.paths[-1] = self.bag.close_incomplete()
            self.bag = None
