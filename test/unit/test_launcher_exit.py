"""A node that exits on its own is reported with its exit code and its last output."""

import os
import sys

from td3_driving.bringup.launcher import TAIL_LINES, Process


def test_a_quiet_node_that_dies_says_why():
    lines = [f"line {i}" for i in range(TAIL_LINES + 3)] + ["ImportError: no module x"]
    code = "import sys\n" + "".join(f"print({line!r})\n" for line in lines) + "sys.exit(3)"
    proc = Process("ego_vehicle/sim_bridge", [sys.executable, "-c", code],
                   dict(os.environ), quiet=True)
    proc.popen.wait(timeout=30)
    report = proc.exit_report()
    assert report.startswith("ego_vehicle/sim_bridge (code 3), its last output: ")
    assert report.endswith("ImportError: no module x")
    assert "line 0" not in report          # only the last lines, not the whole log
