"""Configuration of the entry points' own loops (the rule: docs/architecture.md, "Config")."""

from __future__ import annotations

from dataclasses import dataclass

from td3_driving.core.config_base import param

ENVS = ("driving", "carracing", "pendulum")


@dataclass(frozen=True)
class TrainerConfig:
    """The in-process training loop."""

    env: str = param("pendulum", "Task: the driving task on the embedded simulator (the "
                                 "agents' observation and reward), CarRacing-v3 from pixels "
                                 "with its native reward, or Pendulum-v1 from state.",
                     choices=ENVS)
    total_steps: int = param(20_000, "Environment steps (agent decisions) to train for.",
                             low=1)
    action_repeat: int = param(1, "Simulator steps per agent decision (rewards summed).",
                               low=1, high=16)
    reward_scale: float = param(1.0, "Multiplier on the environment reward before storing "
                                     "it (the reported returns stay native).", low=0.0)
    eval_every: int = param(5000, "Environment steps between deterministic evaluations.",
                            low=1)
    eval_episodes: int = param(5, "Episodes per evaluation (no exploration noise).", low=1)
    log_every: int = param(100, "Updates between metric logs to TensorBoard.", low=1)
