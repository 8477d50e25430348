"""task.geometry: the one angle wrap and quaternion <-> yaw of the package."""

import math

import numpy as np
import pytest

from td3_driving.task.geometry import quaternion_from_yaw, wrap_angle, yaw_from_quaternion


@pytest.mark.parametrize("angle, wrapped", [
    (0.0, 0.0), (math.pi, -math.pi), (-math.pi, -math.pi), (3 * math.pi / 2, -math.pi / 2),
    (-3 * math.pi / 2, math.pi / 2), (7.0, 7.0 - 2 * math.pi), (-20.0, -20.0 + 6 * math.pi)])
def test_wrap_angle_lands_in_minus_pi_to_pi(angle, wrapped):
    assert wrap_angle(angle) == pytest.approx(wrapped)
    assert isinstance(wrap_angle(angle), float)


def test_wrap_angle_keeps_arrays_arrays():
    out = wrap_angle(np.array([0.0, 4.0, -4.0]))
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [0.0, 4.0 - 2 * np.pi, -4.0 + 2 * np.pi])


@pytest.mark.parametrize("yaw", np.linspace(-math.pi + 1e-6, math.pi, 13))
def test_yaw_survives_a_round_trip_through_a_quaternion(yaw):
    x, y, z, w = quaternion_from_yaw(yaw)
    assert x == y == 0.0 and z * z + w * w == pytest.approx(1.0)
    assert yaw_from_quaternion(x, y, z, w) == pytest.approx(yaw)

