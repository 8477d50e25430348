"""The load script, CI-sized (slow): 4 agents + learner, RSS flat, progress, backpressure.

The 10-minute run with the shipped configuration is documented in docs/reliability.md.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(400)]
ROOT = Path(__file__).resolve().parents[2]


def test_four_agents_and_learner_stay_flat_and_keep_moving(tmp_path):
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load_test.py"), "--num_agents", "4",
         "--duration", "150", "--sample_s", "10", "--warmup_s", "60", "--window_s", "30",
         "--batch_steps", "16", "--overlay", str(ROOT / "test" / "e2e" / "tiny_stack.yaml"),
         "--run_dir", str(tmp_path / "run"), "--out", str(out)],
        capture_output=True, text=True, timeout=380, env=dict(os.environ))
    assert out.is_file(), proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["failures"] == [], report["failures"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    summary = report["summary"]
    assert set(summary["rss"]) == {"learner"} | {f"hero{i}/{n}" for i in range(4)
                                                 for n in ("agent", "sim_bridge")}
    assert summary["learner"]["learner_step"] > 0
    assert summary["max_overrun_steps"] <= 4 * 16
