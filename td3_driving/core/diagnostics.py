"""Diagnostics the seed system lacked: measured gradient clipping and a divergence watchdog."""

from __future__ import annotations

import math

import torch

from td3_driving.core.config import WatchdogConfig


class DivergenceError(RuntimeError):
    """Training diverged: Q beyond what the rewards allow, or a non-finite value."""


def clip_group(params: list[torch.Tensor], max_norm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Clip one parameter group's global gradient norm; return (pre, post) norms.

    The post-clip norm is measured on the gradients the optimiser will apply, not
    assumed, so a log can prove that clipping is in effect (docs/architecture.md, "Defaults").
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        zero = torch.zeros(())
        return zero, zero
    pre = torch.nn.utils.get_total_norm(grads)
    if max_norm > 0:
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, pre)
        post = torch.nn.utils.get_total_norm(grads)
    else:
        post = pre
    return pre, post


def param_norm(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.nn.utils.get_total_norm([p.detach() for p in params])


class DivergenceWatchdog:
    """Flags |Q| beyond ``reward_bound / (1 - gamma) * margin`` and non-finite metrics.

    Any discounted return lies within reward_bound / (1 - gamma), where reward_bound is the
    largest |reward| of one step that the reward can give, so a Q estimate far outside it is
    an error of the learner, not of the task (the seed's actor loss went from -611 to -16
    million in 400 updates). Without a reward bound only non-finite values are flagged.
    """

    Q_KEYS = ("q/q1_min", "q/q1_max", "q/q2_min", "q/q2_max", "q/target_min", "q/target_max")

    def __init__(self, config: WatchdogConfig, gamma: float,
                 reward_bound: float | None = None) -> None:
        if reward_bound is not None and not (math.isfinite(reward_bound) and reward_bound > 0):
            raise ValueError(f"reward_bound must be a positive finite number, got {reward_bound}")
        self.config = config
        self.reward_bound = reward_bound
        self.bound = (math.inf if reward_bound is None
                      else reward_bound / (1.0 - gamma) * config.margin)
        self.last_reason: str | None = None

    def check(self, metrics: dict[str, float]) -> str | None:
        """The reason training looks diverged (raised if configured to stop), else None."""
        bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
        reason = None
        if bad:
            reason = f"non-finite values in {', '.join(bad)}"
        elif self.reward_bound is not None:
            worst = max(((abs(metrics[k]), k) for k in self.Q_KEYS if k in metrics),
                        default=(0.0, ""))
            if worst[0] > self.bound:
                reason = (f"|{worst[1]}| = {worst[0]:.4g} exceeds the bound "
                          f"{self.bound:.4g} = reward bound {self.reward_bound:.4g} / "
                          "(1 - gamma) * margin; check the reward's scaling, learning rates "
                          "and gradient clipping")
        if reason is not None:
            self.last_reason = reason
            if self.config.stop_on_divergence:
                raise DivergenceError(f"training diverged: {reason}")
        return reason
