"""Planar angles in REP-103 (yaw counter-clockwise from +x, radians): one copy of each helper."""

from __future__ import annotations

import math

import numpy as np


def wrap_angle(a: float | np.ndarray) -> float | np.ndarray:
    """Angle(s) wrapped to [-pi, pi); a float for a float, an array for an array."""
    wrapped = (np.asarray(a, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi
    return float(wrapped) if np.ndim(wrapped) == 0 else wrapped


def yaw_from_quaternion(x: float, y: float, z: float, w: float) -> float:
    """Heading about +z of the rotation (x, y, z, w), in (-pi, pi]; roll and pitch ignored."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def quaternion_from_yaw(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of the rotation by ``yaw`` radians about +z."""
    return 0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)
