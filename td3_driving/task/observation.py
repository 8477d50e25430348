"""Observation building shared by agents, the learner and the policy artifact.

One place turns a camera image into the network's frames: grayscale (BT.601 luma, like
OpenCV), area resize to the configured size, stacking of the most recent frames, and
scaling of the vehicle vector. Pure numpy, so that every consumer gets the same bytes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from td3_driving.core.config import ObservationConfig

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@lru_cache(maxsize=32)
def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] weights: each output pixel averages the input interval it covers."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    pix = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0.0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def _resize(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-resize a float [..., H, W] array (exact box filter, separable).

    An axis already of its size is left alone: its area matrix is the identity, whose
    product changes no value (finite pixels) and cost a matrix product per frame.
    """
    h_in, w_in = plane.shape[-2:]
    if h_in != height:
        plane = _area_matrix(h_in, height) @ plane
    if w_in != width:
        plane = plane @ _area_matrix(w_in, width).T
    return plane


def preprocess_frame(image: np.ndarray, config: ObservationConfig) -> np.ndarray:
    """RGB camera image uint8 [H, W, 3] (or mono [H, W]) -> one network frame.

    Returns uint8 [height, width] when ``config.grayscale``, else uint8 [3, height, width].
    Convert bgra8/bgr8 images to RGB before calling (the ROS image adapter does).
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"preprocess_frame: expected a uint8 numpy image, got "
                         f"{getattr(image, 'dtype', type(image).__name__)}")
    if image.ndim == 3 and image.shape[2] == 3:
        rgb = image.astype(np.float32)
        planes = rgb @ _LUMA if config.grayscale else np.moveaxis(rgb, 2, 0)
    elif image.ndim == 2:
        if not config.grayscale:
            raise ValueError("preprocess_frame: got a mono [H, W] image but the observation "
                             "config asks for RGB (grayscale: false)")
        planes = image.astype(np.float32)
    else:
        raise ValueError(f"preprocess_frame: expected [H, W, 3] RGB or [H, W] mono, got "
                         f"shape {image.shape}")
    out = _resize(planes, config.height, config.width)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class FrameStack:
    """The most recent ``stack`` frames as one uint8 [stack * C, H, W] observation.

    At reset the first frame fills every slot, as the learner does at an episode start.
    """

    def __init__(self, config: ObservationConfig) -> None:
        self.config = config
        self._frames = np.zeros(config.image_shape, np.uint8)
        self._started = False

    def _as_chw(self, frame: np.ndarray) -> np.ndarray:
        c, h, w = self.config.channels, self.config.height, self.config.width
        chw = frame[None] if frame.ndim == 2 else frame
        if chw.shape != (c, h, w) or chw.dtype != np.uint8:
            raise ValueError(f"FrameStack: expected a uint8 frame of shape {(h, w)} or "
                             f"{(c, h, w)}, got {frame.dtype} {frame.shape}; run "
                             "preprocess_frame first")
        return chw

    def reset(self, frame: np.ndarray) -> np.ndarray:
        chw = self._as_chw(frame)
        self._frames[:] = np.tile(chw, (self.config.stack, 1, 1))
        self._started = True
        return self._frames.copy()

    def push(self, frame: np.ndarray) -> np.ndarray:
        if not self._started:
            raise RuntimeError("FrameStack.push before reset")
        c = self.config.channels
        chw = self._as_chw(frame)
        self._frames[:-c] = self._frames[c:]   # oldest frame drops out at the front
        self._frames[-c:] = chw
        return self._frames.copy()


def normalize_vector(raw: np.ndarray | list, config: ObservationConfig) -> np.ndarray:
    """Raw vehicle vector -> float32 [k], divided element-wise by ``vector_scale``."""
    vec = np.asarray(raw, np.float32).reshape(-1)
    if vec.shape[0] != config.vector_size:
        raise ValueError(f"normalize_vector: got {vec.shape[0]} values, the observation "
                         f"config says vector_size={config.vector_size}")
    if not np.isfinite(vec).all():
        raise ValueError(f"normalize_vector: non-finite value in {vec.tolist()}")
    if config.vector_scale:
        vec = vec / np.asarray(config.vector_scale, np.float32)
    return vec


def empty_frame() -> np.ndarray:
    """The frame a state-only task (``image: false``) sends: uint8 [0, 0, 0]."""
    return np.zeros((0, 0, 0), np.uint8)
