"""Nothing from the network or a user's file is unpickled; discovery is localhost by default."""

import os
import pickle
import re
from pathlib import Path

import pytest
import torch

from td3_driving.core.checkpoint import CheckpointError, load_checkpoint
from td3_driving.core.config import LearnerConfig, NetworkConfig, ObservationConfig
from td3_driving.core.policy import Policy, PolicyError
from td3_driving.core.replay import ReplayBuffer
from td3_driving.core.td3 import TD3Agent

PACKAGE = Path(__file__).resolve().parents[2] / "td3_driving"
TINY = LearnerConfig(observation=ObservationConfig(stack=2, height=16, width=16),
                     network=NetworkConfig(conv_channels=(4,), conv_kernels=(3,),
                                           conv_strides=(2,), feature_dim=16,
                                           hidden_sizes=(16,), channels_last=False))


class _Exploit:
    """Unpickling this runs code: it creates the file named in ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_source_unpickles():
    offenders = []
    for path in _sources():
        text = path.read_text()
        for pattern in (r"\bimport pickle\b", r"\bpickle\.loads?\(", r"\bimport dill\b",
                        r"allow_pickle\s*=\s*True", r"weights_only\s*=\s*False",
                        r"\bmarshal\.loads?\(", r"\bshelve\b"):
            offenders += [f"{path.relative_to(PACKAGE)}: {pattern}"
                          for _ in re.finditer(pattern, text)]
        # every torch.load says weights_only=True
        for call in re.finditer(r"(?<![\w.])torch\.load\(([^)]*)\)", text):
            if "weights_only=True" not in call.group(1):
                offenders.append(f"{path.relative_to(PACKAGE)}: {call.group(0)}")
        for call in re.finditer(r"np\.load\(([^)]*)\)", text):
            if "allow_pickle=False" not in call.group(1):
                offenders.append(f"{path.relative_to(PACKAGE)}: {call.group(0)}")
    assert not offenders, offenders


def test_a_pickled_checkpoint_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "ckpt_000000000001.pt"
    torch.save({"format": "td3_driving.checkpoint/1", "agent": _Exploit(marker)}, path)
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path, TD3Agent(TINY))
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_a_pickled_policy_file_is_refused_without_running_its_code(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"policy{suffix}"
    path.write_bytes(pickle.dumps(_Exploit(marker)))
    with pytest.raises(PolicyError, match="not a safetensors policy payload"):
        Policy.load(path)
    torch.save({"actor": _Exploit(marker)}, path)           # a torch zip pickle
    with pytest.raises(PolicyError):
        Policy.load(path)
    assert not marker.exists()


def test_a_replay_file_with_pickled_objects_is_refused(tmp_path):
    import numpy as np
    marker = tmp_path / "pwned"
    path = tmp_path / "ckpt.pt.replay.npz"
    np.savez(path, state_json=np.array([_Exploit(marker)], dtype=object))
    buffer = ReplayBuffer(TINY.observation, TINY.replay, TINY.action_size, 0.99)
    with pytest.raises(ValueError, match="not a readable replay buffer"):
        buffer.load(path)
    assert not marker.exists()


def test_discovery_is_localhost_unless_the_user_opts_in(monkeypatch):
    from td3_driving.bringup.launcher import stack_environment
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)
    assert stack_environment()["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    monkeypatch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "SUBNET")   # the explicit opt-in
    assert stack_environment()["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET"
    env_sh = (PACKAGE.parent / "env.sh").read_text()
    assert 'ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"' \
        in env_sh
    support = (PACKAGE / "bringup" / "launch_support.py").read_text()
    assert re.search(r'"ROS_AUTOMATIC_DISCOVERY_RANGE", default_value="LOCALHOST"',
                     support)
    readme = (PACKAGE.parent / "README.md").read_text()
    assert "ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET" in readme      # the opt-in is documented
