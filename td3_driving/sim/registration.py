"""The driving task as Gymnasium environments, for any RL library.

    import gymnasium as gym
    import td3_driving.sim.registration  # noqa: F401  (registers the ids below)
    env = gym.make("td3_driving/DrivingRoute-v0", render_mode="rgb_array")

Each id is td3_driving.sim.driving_env.DrivingEnv with one observation preset
(docs/observation.md): DrivingRoute-v0 (camera + route vector), DrivingCamera-v0 (camera +
what the car measures of itself), DrivingState-v0 (the route vector, no image);
Driving-v0 is the agents' default preset. Each has the agents' reward and the embedded
CarRacing-v3 simulator (episode k drives track ``seed + k``). Keyword arguments of
``gym.make`` reach DrivingEnv (``seed``, ``reward_config``, ``evaluation``, ...).
"""

from __future__ import annotations

import gymnasium as gym

from td3_driving.core.config import OBSERVATION_PRESETS, ObservationConfig
from td3_driving.task.driving import DRIVING_OBSERVATION

NAMESPACE = "td3_driving"
# id -> observation configuration: one id per preset, and the agents' default
OBSERVATIONS: dict[str, ObservationConfig] = {
    "Driving-v0": DRIVING_OBSERVATION,
    **{f"Driving{preset.capitalize()}-v0": ObservationConfig(preset=preset)
       for preset in OBSERVATION_PRESETS},
}


def register_envs() -> list[str]:
    """Register every id (again after gymnasium's registry was cleared); returns them."""
    ids = []
    for name, observation in OBSERVATIONS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="td3_driving.sim.driving_env:DrivingEnv",
                         kwargs={"obs_config": observation},
                         disable_env_checker=False, order_enforce=True)
        ids.append(env_id)
    return ids


ENV_IDS = register_envs()
