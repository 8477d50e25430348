"""Action scaling at the edges only: networks work in [-1, 1], vehicles in their own units.

The driving action is a = (steer, accel): accel > 0 is throttle, accel < 0 is brake, so
throttle and brake can never be commanded together.
"""

from __future__ import annotations

import numpy as np

from td3_driving.core.config import ActionConfig


def exploration_action(rng: np.random.Generator, action: np.ndarray | None,
                       noise_std: float, size: int) -> np.ndarray:
    """What a training actor does: warm-up or exploration, float32 in [-1, 1].

    ``action`` None (no policy yet, the warm-up): uniform random actions of ``size`` values.
    Otherwise the policy's ``action`` (any leading batch shape) plus Gaussian noise of std
    ``noise_std`` (TD3's exploration; 0 = none), clipped back into [-1, 1].
    """
    if action is None:
        return rng.uniform(-1.0, 1.0, size).astype(np.float32)
    action = np.asarray(action, np.float32)
    if noise_std <= 0:
        return action
    noise = rng.normal(0.0, noise_std, size=action.shape)
    return np.clip(action + noise, -1.0, 1.0).astype(np.float32)


def _as_action(action: np.ndarray | list | tuple, size: int, where: str) -> np.ndarray:
    a = np.asarray(action, np.float64).reshape(-1)
    if a.shape[0] != size:
        raise ValueError(f"{where}: expected {size} action values, got {a.shape[0]}")
    if not np.isfinite(a).all():
        raise ValueError(f"{where}: non-finite action {a.tolist()}")
    return np.clip(a, -1.0, 1.0)


def to_vehicle_control(action: np.ndarray | list | tuple,
                       config: ActionConfig) -> tuple[float, float, float]:
    """Network action (steer, accel) in [-1, 1] -> (steer, throttle, brake) controls."""
    steer, accel = _as_action(action, 2, "to_vehicle_control")
    return (float(steer * config.max_steer), float(max(accel, 0.0) * config.max_throttle),
            float(max(-accel, 0.0) * config.max_brake))


def from_vehicle_control(steer: float, throttle: float, brake: float,
                         config: ActionConfig) -> np.ndarray:
    """(steer, throttle, brake) -> network action, for logging applied or expert controls.

    Where throttle and brake are both applied, accel is their net effect.
    """
    def ratio(value: float, full: float) -> float:
        return value / full if full > 0 else 0.0
    accel = ratio(throttle, config.max_throttle) - ratio(brake, config.max_brake)
    return np.clip(np.array([ratio(steer, config.max_steer), accel], np.float32), -1.0, 1.0)


def to_box(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """[-1, 1] -> [low, high] (gymnasium Box actions, e.g. Pendulum's torque)."""
    a = _as_action(action, np.size(low), "to_box")
    return (low + (a + 1.0) * 0.5 * (high - low)).astype(np.float32)


def from_box(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """[low, high] -> [-1, 1], the inverse of :func:`to_box`."""
    v = np.asarray(value, np.float64)
    return np.clip(2.0 * (v - low) / (high - low) - 1.0, -1.0, 1.0).astype(np.float32)
