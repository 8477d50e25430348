"""Videos of recorded episodes: the camera with the route and a status strip (PyAV).

A video is rendered from a bag (td3_driving.recording.bag), so an episode recorded by
``evaluate --record``, by the recorder node during training, or by ``ros2 bag record`` on
the same topics gives the same video. One frame per camera image; the other topics show
their newest message at or before that image's time.
"""

from __future__ import annotations

import bisect
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from td3_driving.recording.bag import BagError, read_bag
from td3_driving.recording.overlay import Status, compose
from td3_driving.task.geometry import yaw_from_quaternion


def camera_topic(role: str) -> str:
    return f"/carla/{role}/rgb_front/image"


class VideoWriter:
    """Frames (uint8 H x W x 3 RGB, all the same size) into an .mp4 (H.264) or .gif file.

    GIFs are written by Pillow with a 64-colour palette per frame and no dithering: the
    simulator's flat colours then compress ~10x better than FFmpeg's fixed 3-3-2 palette.
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".mp4", ".gif"):
            raise ValueError(f"{self.path}: video files end in .mp4 or .gif")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self._gif: list[Image.Image] | None = [] if suffix == ".gif" else None
        self._container = None if self._gif is not None else av.open(str(self.path), "w")
        self._stream = None
        self.frames = 0

    def add(self, frame: np.ndarray) -> None:
        self.frames += 1
        if self._gif is not None:
            self._gif.append(Image.fromarray(frame).quantize(
                colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
            return
        if self._stream is None:
            h, w = frame.shape[:2]
            rate = Fraction(self.fps).limit_denominator(1000)
            self._stream = self._container.add_stream("libx264", rate=rate)
            self._stream.width, self._stream.height = w, h
            self._stream.pix_fmt = "yuv420p"
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._gif is not None:
            if self._gif:
                self._gif[0].save(self.path, format="GIF", save_all=True,
                                  append_images=self._gif[1:], loop=0,
                                  duration=round(1000 / self.fps))
            return
        if self._stream is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
        self._container.close()


def count_frames(path: str | Path) -> int:
    """Decoded frames of a video file (the test's and a user's check)."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _rgb(msg) -> np.ndarray:
    """sensor_msgs/Image (rgb8, bgr8, bgra8, mono8) -> (H, W, 3) RGB."""
    channels = {"rgb8": 3, "bgr8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1}.get(msg.encoding)
    if channels is None:
        raise BagError(f"camera image encoding {msg.encoding} is not supported")
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    img = rows[:, :msg.width * channels].reshape(msg.height, msg.width, channels)
    if channels == 1:
        return np.repeat(img, 3, axis=2)
    return img[:, :, :3] if msg.encoding.startswith("rgb") else img[:, :, 2::-1]


class _Latest:
    """The newest message of a topic at or before a time."""

    def __init__(self) -> None:
        self.stamps: list[int] = []
        self.msgs: list = []

    def add(self, stamp: int, msg) -> None:
        self.stamps.append(stamp)
        self.msgs.append(msg)

    def at(self, stamp: int):
        i = bisect.bisect_right(self.stamps, stamp) - 1
        return self.msgs[i] if i >= 0 else None


def bag_to_video(bag: str | Path, out: str | Path, role: str = "ego_vehicle",
                 scale: int = 4) -> int:
    """Render one recorded episode; returns the number of frames written."""
    ns = f"/carla/{role}"
    topics = {camera_topic(role): "image", f"{ns}/odometry": "odom",
              f"{ns}/vehicle_control_cmd": "cmd", f"{ns}/waypoints": "route",
              # td3_driving.apps.record's names; the agent node's debug reward through ROS
              f"/td3/{role}/q": "q", f"/td3/{role}/reward": "reward",
              f"/{role}/agent/reward": "reward"}
    latest = {k: _Latest() for k in topics.values()}
    for topic, _, stamp, msg in read_bag(bag, tuple(topics)):
        latest[topics[topic]].add(stamp, msg)
    images = latest["image"]
    if not images.msgs:
        raise BagError(f"{bag}: no camera images on {camera_topic(role)} (is the role name "
                       f"'{role}' right?)")
    stamps = images.stamps
    dt = np.median(np.diff(stamps)) / 1e9 if len(stamps) > 1 else 0.08
    writer = VideoWriter(out, 1.0 / dt if dt > 0 else 12.5)
    episode_return = 0.0 if latest["reward"].msgs else None
    try:
        for stamp, image in zip(stamps, images.msgs):
            odom, cmd, path = (latest[k].at(stamp) for k in ("odom", "cmd", "route"))
            q, reward = latest["q"].at(stamp), latest["reward"].at(stamp)
            if reward is not None and latest["reward"].stamps[
                    bisect.bisect_right(latest["reward"].stamps, stamp) - 1] == stamp:
                episode_return += reward.data
            pose, speed = None, 0.0
            if odom is not None:
                p, o = odom.pose.pose.position, odom.pose.pose.orientation
                pose = (p.x, p.y, yaw_from_quaternion(o.x, o.y, o.z, o.w))
                speed = odom.twist.twist.linear.x
            route = (np.array([[s.pose.position.x, s.pose.position.y] for s in path.poses])
                     if path is not None else None)
            status = Status(time_s=(stamp - stamps[0]) / 1e9,
                            steer=cmd.steer if cmd else 0.0,
                            throttle=cmd.throttle if cmd else 0.0,
                            brake=cmd.brake if cmd else 0.0, speed=speed,
                            q=q.data if q is not None else None,
                            reward=reward.data if reward is not None else None,
                            episode_return=episode_return)
            writer.add(compose(_rgb(image), status, route, pose, scale))
    finally:
        writer.close()
    return writer.frames
