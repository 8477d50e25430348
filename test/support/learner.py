"""Shared by the learner tests (unit and node): a tiny configuration and an experience producer."""

import numpy as np

from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import from_mapping, unflatten
from td3_driving.core.experience import ExperienceRecorder
from td3_driving.learner.config import LearnerNodeConfig

# Parameters of a learner whose update takes about a millisecond on one thread, named as
# the node's ROS parameters: 1x16x16 frames, stack 2, one conv layer, batch 8.
TINY = {
    "observation.preset": "",   # no driving preset: the sizes below are taken as given
    "observation.stack": 2, "observation.height": 16, "observation.width": 16,
    "observation.vector_size": 3,
    "observation.vector_scale": [1.0, 1.0, 1.0],
    "network.conv_channels": [4], "network.conv_kernels": [3], "network.conv_strides": [2],
    "network.feature_dim": 16, "network.hidden_sizes": [16], "network.augment_pad": 1,
    "network.channels_last": False,
    "td3.batch_size": 8, "td3.learning_starts": 40, "td3.update_to_data": 1.0,
    "replay.capacity": 5000,
    "checkpoint_period_s": 0.0, "checkpoint_period_updates": 0, "tensorboard": False,
    "status_period_s": 0.05, "diagnostics_period_s": 0.2, "train_slice_s": 0.1,
    "backpressure_slack_steps": 32,
}
_NODE_FIELDS = set(LearnerNodeConfig.__dataclass_fields__)


def tiny_configs(run_dir, **overrides) -> tuple[LearnerConfig, LearnerNodeConfig]:
    """(LearnerConfig, LearnerNodeConfig) from TINY + dotted overrides."""
    values = {**TINY, "run_dir": str(run_dir), **overrides}
    node = {k: v for k, v in values.items() if k in _NODE_FIELDS}
    core = {k: v for k, v in values.items() if k not in _NODE_FIELDS}
    return (from_mapping(LearnerConfig, unflatten(core)),
            from_mapping(LearnerNodeConfig, node))


class Producer:
    """An agent's experience: episodes of ``length`` steps of 1x16x16 frames.

    Every pixel of a frame holds the step's sequence number mod 256, so a test can tell
    which steps a rebuilt frame stack is made of.
    """

    def __init__(self, agent_id="hero0", length=20, seed=0):
        self.rec = ExperienceRecorder(agent_id, 2)
        self.rng = np.random.default_rng(seed)
        self.length, self.t = length, 0

    def batch(self, n, reward=0.1):
        for _ in range(n):
            frame = np.full((1, 16, 16), self.rec.sequence % 256, np.uint8)
            vector = self.rng.normal(size=3).astype(np.float32)
            if self.t % self.length == 0:
                self.rec.begin_episode(frame, vector)
            else:
                self.rec.step(frame, vector, self.rng.uniform(-1, 1, 2).astype(np.float32),
                              reward, False, self.t % self.length == self.length - 1)
            self.t += 1
        return self.rec.flush()
