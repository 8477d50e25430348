"""sensor_msgs/Image <-> numpy without cv_bridge (which has no pip wheel).

Supports the 8-bit encodings the stack meets: bgra8 (CARLA's cameras), rgb8, bgr8, mono8.
Rows may be padded (``step`` > width * channels); the padding is dropped on reading.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header

CHANNELS = {"bgra8": 4, "rgb8": 3, "bgr8": 3, "mono8": 1}


def image_to_array(msg: Image, topic: str = "image") -> np.ndarray:
    """The pixels of ``msg`` as (H, W, C) uint8, or (H, W) for mono8; a read-only view.

    Raises ValueError naming ``topic`` and the field when encoding, width, height, step or
    the data length are inconsistent.
    """
    channels = CHANNELS.get(msg.encoding)
    if channels is None:
        raise ValueError(f"{topic}: encoding '{msg.encoding}' is not supported "
                         f"(one of {sorted(CHANNELS)})")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0:
        raise ValueError(f"{topic}: height={h} and width={w} must be positive")
    if step < w * channels:
        raise ValueError(f"{topic}: step={step} is smaller than width*channels={w * channels}")
    try:  # rclpy gives array.array('B') (or bytes): zero-copy
        buf = np.frombuffer(msg.data, dtype=np.uint8)
    except TypeError:  # a plain list of ints
        buf = np.asarray(msg.data, dtype=np.uint8)
    if buf.size != step * h:
        raise ValueError(f"{topic}: data has {buf.size} bytes, expected step*height="
                         f"{step * h}")
    rows = buf.reshape(h, step)[:, : w * channels]
    return rows.reshape(h, w) if channels == 1 else rows.reshape(h, w, channels)


def image_to_rgb(msg: Image, topic: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 RGB from any supported encoding (mono8 is replicated)."""
    arr = image_to_array(msg, topic)
    if msg.encoding == "rgb8":
        return arr
    if msg.encoding == "mono8":
        return np.repeat(arr[:, :, None], 3, axis=2)
    # bgr8 / bgra8: B, G, R reversed into a new array, one channel at a time. The reversed
    # view arr[:, :, 2::-1] holds the same values, but any copy of it (the observation's
    # float conversion) runs an element-wise loop: 120 us per 96x84 frame instead of 26.
    rgb = np.empty(arr.shape[:2] + (3,), np.uint8)
    for c in range(3):
        rgb[:, :, c] = arr[:, :, 2 - c]
    return rgb


def array_to_image(arr: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """An Image of ``arr`` ((H, W, C) or (H, W) uint8) with a tight step."""
    channels = CHANNELS.get(encoding)
    if channels is None:
        raise ValueError(f"encoding '{encoding}' is not supported (one of {sorted(CHANNELS)})")
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise ValueError(f"image array must be uint8, got {arr.dtype}")
    shape_ok = (arr.ndim == 2 and channels == 1) or (arr.ndim == 3 and arr.shape[2] == channels)
    if not shape_ok:
        raise ValueError(f"array of shape {arr.shape} does not fit encoding {encoding}")
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = msg.width * channels
    msg.data = np.ascontiguousarray(arr).tobytes()
    return msg


def rgb_to_bgra(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W, 4) BGRA with opaque alpha, as CARLA's cameras send."""
    out = np.empty(rgb.shape[:2] + (4,), dtype=np.uint8)
    out[:, :, :3] = rgb[:, :, ::-1]
    out[:, :, 3] = 255
    return out
