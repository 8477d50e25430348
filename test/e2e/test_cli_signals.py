"""`python -m td3_driving.apps.cli train` under the signals that schedulers and shells send.

The cli runs as a real process with the CI-sized stack (tiny_stack.yaml). SIGTERM (what
`timeout`, `docker stop` and systemd send) and SIGINT (Ctrl-C; also when the shell that
started the cli left SIGINT ignored) stop the run in order with a final checkpoint and a
policy artifact; a SIGKILLed cli leaves no node behind: each notices that its parent is
gone and exits by itself.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from td3_driving.bringup import stack
from td3_driving.core.checkpoint import load_checkpoint, read_checkpoint_config
from td3_driving.core.policy import Policy
from td3_driving.core.td3 import TD3Agent

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
TINY = str(Path(__file__).with_name("tiny_stack.yaml"))
NODES = {"sim_bridge", "agent", "learner"}


def _children(pid: int) -> dict[int, str]:
    """pid -> executable name of the processes whose parent is ``pid``."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            argv = (stat.parent / "cmdline").read_bytes().decode(errors="replace").split("\0")
            names = [a.rsplit("/", 1)[-1] for a in argv[:2]]   # python3 <script>, or <exe>
            found[int(stat.parent.name)] = next((n for n in names if n in NODES), names[0])
    return found


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(run_dir: Path, preexec=None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "td3_driving.apps.cli", "train", "--params_file", TINY,
           "--run_dir", str(run_dir), "--quiet_nodes", "--progress_every", "5"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=preexec, start_new_session=True)


def _wait_for_checkpoint(proc: subprocess.Popen, run_dir: Path, timeout: float) -> dict:
    """Wait until the learner wrote a periodic checkpoint; return the running nodes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        if list((run_dir / "checkpoints").glob("ckpt_*.pt")):
            nodes = _children(proc.pid)
            assert NODES <= set(nodes.values()), nodes
            return nodes
        time.sleep(0.5)
    proc.kill()
    pytest.fail(f"no checkpoint within {timeout} s: {proc.communicate()[0][-3000:]}")


def _ignore_sigint():
    # what a non-interactive shell does to a background job (`make train &`)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("sig, preexec", [(signal.SIGTERM, None),
                                          (signal.SIGINT, _ignore_sigint)],
                         ids=["SIGTERM", "SIGINT-inherited-ignored"])
def test_a_signal_stops_the_run_in_order_with_an_artifact_and_no_orphan(tmp_path, sig,
                                                                        preexec):
    run_dir = tmp_path / "run"
    proc = _start(run_dir, preexec)
    nodes = _wait_for_checkpoint(proc, run_dir, 240)
    # placement: the learner keeps the cli's priority, the vehicles yield to it
    base = _nice(proc.pid)
    assert {name: _nice(pid) - base for pid, name in nodes.items()} == {
        "learner": 0, "agent": stack.VEHICLE_NICE, "sim_bridge": stack.VEHICLE_NICE}
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=200)
    assert proc.returncode == 0, out[-3000:]
    assert "stopping (" in out and "nodes exited with errors" not in out, out[-3000:]
    assert Policy.load(run_dir / "policy.safetensors").observation.height == 40
    assert not [pid for pid in nodes if _alive(pid)], (nodes, out[-2000:])
    assert "Traceback" not in out, out[-3000:]


def test_a_killed_cli_leaves_no_node_alive_and_its_checkpoints_intact(tmp_path):
    run_dir = tmp_path / "run"
    proc = _start(run_dir)
    nodes = _wait_for_checkpoint(proc, run_dir, 240)
    proc.kill()
    proc.communicate(timeout=10)
    time.sleep(10)
    left = {pid: name for pid, name in nodes.items() if _alive(pid)}
    for pid in left:                       # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running 10 s after the cli was killed: {left}"
    # every checkpoint on disk (the periodic ones, and a final one if it got that far)
    # loads completely into an agent of its own configuration
    ckpts = sorted((run_dir / "checkpoints").glob("ckpt_*.pt"))
    assert ckpts
    for path in ckpts:
        load_checkpoint(path, TD3Agent(read_checkpoint_config(path)))
