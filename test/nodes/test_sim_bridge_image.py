"""sensor_msgs/Image <-> numpy: encodings, row padding, and clear errors (no graph needed)."""

import numpy as np
import pytest

pytest.importorskip("sensor_msgs.msg", reason="ROS message tests need ./env.sh")

from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from td3_driving.ros.image import (  # noqa: E402
    array_to_image,
    image_to_array,
    image_to_rgb,
    rgb_to_bgra,
)

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)


@pytest.mark.parametrize("encoding,arr", [
    ("rgb8", RGB), ("bgr8", RGB[:, :, ::-1]), ("bgra8", rgb_to_bgra(RGB)),
    ("mono8", RGB[:, :, 0])])
def test_round_trip_and_rgb_view(encoding, arr):
    msg = array_to_image(arr, encoding, Header(frame_id="cam"))
    assert msg.header.frame_id == "cam" and msg.step == 7 * (arr.shape[2] if arr.ndim == 3 else 1)
    assert np.array_equal(image_to_array(msg), arr)
    rgb = image_to_rgb(msg)
    expected = np.repeat(arr[:, :, None], 3, axis=2) if encoding == "mono8" else RGB
    assert rgb.shape == (5, 7, 3) and np.array_equal(rgb, expected)


def test_bgra_has_opaque_alpha_and_reversed_channels():
    bgra = rgb_to_bgra(RGB)
    assert (bgra[:, :, 3] == 255).all() and np.array_equal(bgra[:, :, 0], RGB[:, :, 2])


def test_row_padding_is_dropped():
    padded = np.zeros((5, 7 * 3 + 3), dtype=np.uint8)
    padded[:, :21] = RGB.reshape(5, 21)
    padded[:, 21:] = 99  # garbage in the padding
    msg = Image(height=5, width=7, encoding="rgb8", step=24, data=padded.tobytes())
    assert np.array_equal(image_to_array(msg), RGB)
    padded = np.full((5, 7 * 4 + 4), 99, dtype=np.uint8)
    padded[:, :28] = rgb_to_bgra(RGB).reshape(5, 28)
    msg = Image(height=5, width=7, encoding="bgra8", step=32, data=padded.tobytes())
    assert np.array_equal(image_to_rgb(msg), RGB)


@pytest.mark.parametrize("fields,message", [
    (dict(encoding="yuv422"), "encoding 'yuv422'"),
    (dict(step=20), "step=20"),
    (dict(height=6), "data has 105 bytes"),
    (dict(width=0), "width=0"),
])
def test_inconsistent_messages_raise_naming_topic_and_field(fields, message):
    msg = Image(height=5, width=7, encoding="rgb8", step=21, data=RGB.tobytes())
    for key, value in fields.items():
        setattr(msg, key, value)
    with pytest.raises(ValueError, match="/cam/image") as err:
        image_to_array(msg, "/cam/image")
    assert message in str(err.value)


def test_array_to_image_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="does not fit"):
        array_to_image(RGB, "bgra8")
    with pytest.raises(ValueError, match="uint8"):
        array_to_image(RGB.astype(np.float32), "rgb8")
