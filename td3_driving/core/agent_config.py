"""Configuration of an agent: one vehicle's actor, explorer and experience sender."""

from __future__ import annotations

from dataclasses import dataclass

from td3_driving.core.config import TD3Config
from td3_driving.core.config_base import param


@dataclass(frozen=True)
class AgentConfig:
    """The agent node's own settings (observation/action/reward configs are separate)."""

    role_name: str = param("ego_vehicle", "Vehicle to drive: topics /carla/<role_name>/...")
    mode: str = param("train", "'train': explore and publish experience for the learner; "
                               "'drive': act deterministically with policy_file, no "
                               "experience.", choices=("train", "drive"))
    policy_file: str = param("", "Policy artifact (.safetensors) to drive with; required in "
                                 "'drive' mode, optional start weights in 'train' mode.")
    seed: int = param(0, "Seed of the exploration noise and warm-up actions.", low=0)
    exploration_noise: float = param(TD3Config().exploration_noise,
                                     "Std of the Gaussian noise added to the actor's action "
                                     "(network space [-1, 1]) in 'train' mode.",
                                     low=0.0, high=10.0)
    batch_steps: int = param(32, "Steps per experience message on the replay topic "
                                 "(16-64, docs/architecture.md).", low=1, high=1024)
    settle_ticks: int = param(2, "Ticks after a reset request before the new episode starts "
                                 "(neutral control meanwhile; the bridge needs a few).",
                              low=0, high=1000)
    new_route_on_reset: bool = param(True, "Wait for a new waypoints Path after each reset "
                                           "(the embedded simulator sends one per track).")
    pause_when_throttled: bool = param(True, "While the learner's backpressure holds the "
                                             "agent, PAUSE the simulator via /carla/control "
                                             "(and PLAY after), so it does not tick on "
                                             "without a command.")
    learner_timeout_s: float = param(5.0, "A learner status older than this (wall seconds) "
                                          "is ignored: agents keep driving without a learner.",
                                     low=0.1, high=3600.0)
    restart_jump_s: float = param(1.0, "A frame stamped this much earlier than the last one "
                                       "means the simulator restarted: the episode is "
                                       "truncated and a new one begins.", low=0.0)
    torch_threads: int = param(1, "torch threads for acting.", low=1, high=64)
    publish_debug: bool = param(True, "Publish ~/observation (the processed frame as an "
                                      "Image), ~/action and ~/reward for rviz2.")
