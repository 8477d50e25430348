"""A params file key that the node does not declare stops that node with a clear error.

Each node executable, started as `make train` starts it, with a copy of its shipped block
plus one misspelled key: it exits with code 2 and one line naming the key, the node and
the nearest declared name, instead of running silently with the default.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from td3_driving.bringup import stack
from td3_driving.bringup.launcher import executable_path, stack_environment

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CASES = [  # executable, node name, params block, misspelled key, the declared name
    ("learner", "learner", "/learner", "td3.batch_sise", "td3.batch_size"),
    ("agent", "agent", "/**/agent", "exploration_nois", "exploration_noise"),
    ("sim_bridge", "sim_bridge", "/**/sim_bridge", "fixed_delta_second",
     "fixed_delta_seconds"),
    ("reference_controller", "reference_controller", "/**/reference_controller",
     "off_track_tick", "off_track_ticks"),
]


@pytest.mark.parametrize("executable, name, block, typo, nearest", CASES,
                         ids=[c[0] for c in CASES])
def test_a_misspelled_key_stops_the_node_naming_key_node_and_nearest(
        tmp_path, executable, name, block, typo, nearest):
    params = tmp_path / "train.yaml"
    shutil.copy(stack.config_file("train.yaml"), params)
    data = yaml.safe_load(params.read_text())
    data.setdefault(block, {"ros__parameters": {}})["ros__parameters"][typo] = 128
    params.write_text(yaml.safe_dump(data))
    cmd = [executable_path(executable), "--ros-args", "-r", f"__node:={name}", "-r",
           "__ns:=/hero0" if executable != "learner" else "__ns:=/",
           "--params-file", str(params), "-p", f"run_dir:={tmp_path / 'run'}"
           if executable == "learner" else "use_sim_time:=false"]
    proc = subprocess.run(cmd, env=stack_environment(), capture_output=True, text=True,
                          timeout=180)
    fqn = "/learner" if executable == "learner" else f"/hero0/{name}"
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"'{typo}' ({params}, block {block}) is not a parameter of node {fqn}; " \
           f"nearest declared name: '{nearest}'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not Path(tmp_path / "run").exists() or not list((tmp_path / "run").rglob("*.pt"))
