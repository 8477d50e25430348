"""Video frames: the camera image enlarged, the route drawn on it, a status strip below.

The route is projected with the embedded simulator's camera model: CarRacing renders a
top-down view that turns with the car, the car at the view's horizontal centre and 3/4 of
the window's height, ``ZOOM * SCALE`` pixels per metre (docs/carla_bridge.md describes the
same camera as a downward pinhole). CarRacing zooms in during an episode's first second, so
the drawn route is too wide for those first ~12 frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from td3_driving.sim import carracing

ROUTE_COLOR = (255, 60, 200)
TEXT_COLOR = (255, 255, 255)
STRIP_COLOR = (20, 20, 20)


@dataclass(frozen=True)
class Status:
    """What the strip under the camera shows for one frame (None: not recorded)."""

    time_s: float
    steer: float
    throttle: float
    brake: float
    speed: float                 # m/s, signed forward
    q: float | None = None       # the critic's min(Q1, Q2) of the action taken
    reward: float | None = None
    episode_return: float | None = None


def route_pixels(route_xy: np.ndarray, pose: tuple[float, float, float],
                 image_size: tuple[int, int]) -> np.ndarray:
    """Map-frame points (N, 2) -> (N, 2) pixel (u, v) of a camera image of ``image_size``
    (width, height) taken at vehicle ``pose`` (x, y, yaw).
    """
    x, y, yaw = pose
    d = np.asarray(route_xy, np.float64)[:, :2] - (x, y)
    c, s = np.cos(yaw), np.sin(yaw)
    forward, left = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
    zoom = carracing.cr.ZOOM * carracing.cr.SCALE      # window pixels per metre
    u = carracing.cr.WINDOW_W / 2 - left * zoom
    v = carracing.cr.WINDOW_H * 3 / 4 - forward * zoom
    width, height = image_size
    # the camera image is the window without its HUD strip, resized (CarRacingSim._camera)
    view_h = carracing._VIEW_H
    return np.stack([u * width / carracing.cr.WINDOW_W, v * height / view_h], axis=1)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:   # Pillow < 10.1 has one fixed-size default font
        return ImageFont.load_default()


def compose(camera_rgb: np.ndarray, status: Status, route_xy: np.ndarray | None = None,
            pose: tuple[float, float, float] | None = None, scale: int = 4) -> np.ndarray:
    """One video frame, uint8 (H', W', 3) with even sides (H.264 / yuv420p needs them)."""
    h, w = camera_rgb.shape[:2]
    big = Image.fromarray(np.ascontiguousarray(camera_rgb)).resize((w * scale, h * scale),
                                                                  Image.NEAREST)
    draw = ImageDraw.Draw(big)
    if route_xy is not None and pose is not None and len(route_xy) > 1:
        px = route_pixels(route_xy, pose, (w, h)) * scale
        inside = ((px[:, 0] > -w * scale) & (px[:, 0] < 2 * w * scale)
                  & (px[:, 1] > -h * scale) & (px[:, 1] < 2 * h * scale))
        for a, b, keep in zip(px[:-1], px[1:], inside[:-1] & inside[1:]):
            if keep:
                draw.line([tuple(a), tuple(b)], fill=ROUTE_COLOR, width=max(1, scale // 2))
    font = _font(max(11, 4 * scale))
    lines = [f"t {status.time_s:6.2f} s   speed {status.speed * 3.6:6.1f} km/h",
             f"steer {status.steer:+.2f}  throttle {status.throttle:.2f}  "
             f"brake {status.brake:.2f}",
             "Q " + (f"{status.q:+.2f}" if status.q is not None else "n/a")
             + ("" if status.reward is None else f"   r {status.reward:+.3f}")
             + ("" if status.episode_return is None else
                f"   return {status.episode_return:+.1f}")]
    line_h = font.size + 4 if hasattr(font, "size") else 14
    strip_h = line_h * len(lines) + 8
    width, height = big.width + big.width % 2, big.height + strip_h
    height += height % 2
    frame = Image.new("RGB", (width, height), STRIP_COLOR)
    frame.paste(big, (0, 0))
    text = ImageDraw.Draw(frame)
    for i, line in enumerate(lines):
        text.text((6, big.height + 4 + i * line_h), line, fill=TEXT_COLOR, font=font)
    return np.asarray(frame)
