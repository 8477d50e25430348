"""DDS security (SROS2) with the PyPI wheels: what they support, asserted.

The Fast DDS in ros-fastdds / ros-rmw-fastrtps-cpp is built without its security plugins
(-DSECURITY=OFF): a node asked to run with security cannot even be created. README.md,
"Many hosts", and docs/reliability.md, "Security", say what to do instead. If a future
wheel ships the plugins, this test fails: then the security switch can be offered here.
"""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros

PROBE = """
import rclpy
rclpy.init(args=["--ros-args", "--enclave", "/td3_driving"])
rclpy.create_node("security_probe")
print("created")
"""


@pytest.mark.parametrize("strategy", ["Enforce", "Permissive"])
def test_the_wheels_fast_dds_has_no_security_plugins(tmp_path, strategy):
    (tmp_path / "enclaves" / "td3_driving").mkdir(parents=True)
    env = {**os.environ, "ROS_SECURITY_ENABLE": "true", "ROS_SECURITY_STRATEGY": strategy,
           "ROS_SECURITY_KEYSTORE": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "created" not in proc.stdout, proc.stdout
    assert "This Fast DDS version doesn't have the security libraries" in proc.stderr, \
        proc.stderr[-2000:]
