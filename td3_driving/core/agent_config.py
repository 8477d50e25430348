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
                                 "(16-64: docs/architecture.md).", low=1, high=1024)
    settle_ticks: int = param(2, "Frames to hold still after the reset teleport before the "
                                 "new episode starts (CARLA needs a few; the embedded "
                                 "simulator none).", low=0, high=1000)
    pause_when_throttled: bool = param(True, "While the learner's backpressure holds the "
                                             "agent, PAUSE the simulator via /carla/control "
                                             "(and PLAY after), so it does not tick on "
                                             "without a command.")
    learner_timeout_s: float = param(5.0, "A learner status older than this (wall seconds) "
                                          "is ignored: agents keep driving without a learner.",
                                     low=0.1, high=3600.0)
    max_stamp_ahead_s: float = param(10.0, "A frame part stamped more than this (sim "
                                           "seconds) after the newest frame takes no "
                                           "pending slot; it is used only if its whole "
                                           "frame arrives.", low=0.001, high=1e6)
    torch_threads: int = param(1, "torch threads for acting.", low=1, high=64)
    publish_debug: bool = param(True, "Offer ~/observation (the processed frame as an "
                                      "Image), ~/action, ~/reward and ~/status_marker for "
                                      "rviz2; each is built only while someone subscribes.")
