"""The learner's standalone rate, which every learning record compares the stack with,
can be measured for every observation preset, the image-less one included."""

import pytest

from benchmarks.learner_throughput import standalone_updates_per_s
from td3_driving.core.config import LearnerConfig
from td3_driving.core.config_base import to_dict


@pytest.mark.parametrize("image", [True, False])
def test_standalone_rate_of_a_learner_with_and_without_images(image):
    learner = to_dict(LearnerConfig())
    learner["observation"].update(image=image, height=36, width=36)
    learner["network"].update(conv_channels=[4, 8, 8], feature_dim=16, hidden_sizes=[16, 16],
                              augment_pad=2)
    learner["td3"]["batch_size"] = 8
    assert standalone_updates_per_s(learner, updates=2, rounds=1) > 0
