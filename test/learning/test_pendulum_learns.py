"""TD3 learns Pendulum-v1 from state within a CI budget: 12,000 steps, 11,000 updates."""

import json

import pytest

from td3_driving.apps.gym_trainer import DEFAULT_CONFIG, load_run_config, train

# Seed 1 reached -189 at 12000 steps (a random policy scores ~-1200). At 8000 steps the
# curve is still noisy (-572 with this seed); seeds 2-7 reached -124..-139 at 10000 steps.
# Same-seed runs repeat exactly from the command line.
BUDGET = ["trainer.total_steps=12000", "trainer.eval_every=12000", "trainer.eval_episodes=10",
          "learner.seed=1", "learner.torch_threads=1"]


@pytest.mark.learning
# pytest.ini's 300 s is for hangs; this test's 11,000 updates took 574 s of wall time
# (172 s of CPU) on a machine shared with two learning stacks, so it gets more.
@pytest.mark.timeout(900)
def test_pendulum_reaches_minus_400(tmp_path):
    cfg, trainer = load_run_config(DEFAULT_CONFIG, "pendulum", BUDGET)
    results = train(cfg, trainer, tmp_path)
    assert results["status"] == "finished"
    assert results["final_eval_return"] >= -400, results["evals"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["final_eval_return"] == results["final_eval_return"]
    assert (tmp_path / "policy.safetensors").is_file() and (tmp_path / "checkpoint.pt").is_file()
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.iterdir())
