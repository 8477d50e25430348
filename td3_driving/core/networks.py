"""Networks: NatureCNN image encoder, tanh actor head, twin Q heads, random-shift augment.

Images enter as uint8 and are converted to float once per batch (:func:`image_to_float`);
the vehicle vector is concatenated to the encoder features before each head.
"""

from __future__ import annotations

import torch
from torch import nn

from td3_driving.core.config import NetworkConfig, ObservationConfig


def conv_output_size(config: NetworkConfig, height: int, width: int) -> tuple[int, int]:
    """Spatial size after the conv stack (no padding), or a clear error if it vanishes."""
    h, w = height, width
    for k, s in zip(config.conv_kernels, config.conv_strides):
        h, w = (h - k) // s + 1, (w - k) // s + 1
        if h < 1 or w < 1:
            raise ValueError(f"image {height}x{width} is too small for conv kernels "
                             f"{config.conv_kernels} / strides {config.conv_strides}; use a "
                             "larger observation.height/width or smaller kernels")
    return h, w


class Encoder(nn.Module):
    """NatureCNN (Mnih et al. 2015): convs + ReLU, flatten, linear to feature_dim + ReLU."""

    def __init__(self, obs: ObservationConfig, net: NetworkConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = obs.image_shape[0]
        for c_out, k, s in zip(net.conv_channels, net.conv_kernels, net.conv_strides):
            layers += [nn.Conv2d(c_in, c_out, k, s), nn.ReLU(inplace=True)]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        h, w = conv_output_size(net, obs.height, obs.width)
        self.linear = nn.Sequential(nn.Linear(c_in * h * w, net.feature_dim),
                                    nn.ReLU(inplace=True))
        self.out_dim = net.feature_dim
        self.bfloat16 = net.encoder_precision == "bfloat16"

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # mixed precision: bf16 matmuls, fp32 weights and gradients; the heads stay fp32
        with torch.autocast(image.device.type, torch.bfloat16, enabled=self.bfloat16):
            # flatten in logical NCHW order, so weights do not depend on the memory format
            features = self.linear(self.convs(image).flatten(1))
        return features.float()


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(in_dim, size), nn.ReLU(inplace=True)]
        in_dim = size
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class ActorHead(nn.Module):
    """Features -> deterministic action in [-1, 1] (tanh)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], action_size: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, action_size)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(features))


class TwinQHead(nn.Module):
    """Clipped double Q: two independent heads on the same (features, action)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], action_size: int) -> None:
        super().__init__()
        self.q1_net = mlp(in_dim + action_size, hidden, 1)
        self.q2_net = mlp(in_dim + action_size, hidden, 1)

    def forward(self, features: torch.Tensor,
                action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([features, action], dim=1)
        return self.q1_net(x).squeeze(1), self.q2_net(x).squeeze(1)

    def q1(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Q1 alone: the actor's objective (Fujimoto's ``Critic.Q1``)."""
        return self.q1_net(torch.cat([features, action], dim=1)).squeeze(1)


def fuse(encoder: Encoder | None, image: torch.Tensor | None,
         vector: torch.Tensor) -> torch.Tensor:
    """Encoder features of the image, concatenated with the vehicle vector."""
    if encoder is None:
        return vector
    return torch.cat([encoder(image), vector], dim=1)


def feature_dim(obs: ObservationConfig, net: NetworkConfig) -> int:
    return (net.feature_dim if obs.image else 0) + obs.vector_size


class Actor(nn.Module):
    """Encoder + actor head: what the policy artifact holds and agents run."""

    def __init__(self, encoder: Encoder | None, head: ActorHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, image: torch.Tensor | None, vector: torch.Tensor) -> torch.Tensor:
        return self.head(fuse(self.encoder, image, vector))


def image_to_float(image: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """uint8 [B, C, H, W] -> float in [0, 1]; done once per batch."""
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    return image.to(torch.float32).mul_(1.0 / 255.0)


def random_shift(image: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """DrQ random shift: replicate-pad by ``pad`` and crop back at a random offset per image.

    Works on uint8 (4x less memory traffic than floats) in channels-last memory, where each
    crop is a copy of whole pixel rows; returns a channels-last uint8 batch.
    """
    b, c, h, w = image.shape
    offsets = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator,
                            device=generator.device).tolist()
    hwc = image.permute(0, 2, 3, 1)
    hwc = torch.cat([hwc[:, :1].expand(b, pad, w, c), hwc,
                     hwc[:, -1:].expand(b, pad, w, c)], dim=1)
    hwc = torch.cat([hwc[:, :, :1].expand(b, h + 2 * pad, pad, c), hwc,
                     hwc[:, :, -1:].expand(b, h + 2 * pad, pad, c)], dim=2)
    out = torch.empty((b, h, w, c), dtype=image.dtype, device=image.device)
    for i, (dy, dx) in enumerate(offsets):
        out[i] = hwc[i, dy:dy + h, dx:dx + w]
    return out.permute(0, 3, 1, 2)
