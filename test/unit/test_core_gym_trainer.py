"""The in-process trainer: a tiny run writes its artifacts; CarRacing yields network inputs."""

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from td3_driving.apps.gym_tasks import CarRacingTask
from td3_driving.apps.gym_trainer import DEFAULT_CONFIG, load_run_config, main, train
from td3_driving.core.checkpoint import load_checkpoint, read_checkpoint_config
from td3_driving.core.config_base import ConfigError
from td3_driving.core.policy import Policy
from td3_driving.core.td3 import TD3Agent


def test_tiny_pendulum_run_writes_results_checkpoint_policy_and_logs(tmp_path):
    cfg, trainer = load_run_config(DEFAULT_CONFIG, "pendulum", [
        "trainer.total_steps=300", "trainer.eval_every=150", "trainer.eval_episodes=1",
        "trainer.log_every=10", "learner.td3.learning_starts=100", "learner.td3.batch_size=32"])
    results = train(cfg, trainer, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["status"] == "finished" and saved["updates"] == 201
    assert [step for step, _, _ in saved["evals"]] == [150, 300]
    walls = [wall for _, _, wall in saved["evals"]]   # training time, evaluations excluded
    assert 0 <= walls[0] <= walls[1] <= saved["wall_s"]
    assert saved["final_eval_return"] == results["final_eval_return"] < 0
    agent = TD3Agent(read_checkpoint_config(tmp_path / "checkpoint.pt"))
    assert load_checkpoint(tmp_path / "checkpoint.pt", agent) == {"env_steps": 300}
    policy = Policy.load(tmp_path / "policy.safetensors")
    obs = {"vector": np.array([1.0, 0.0, 0.1], np.float32)}
    np.testing.assert_array_equal(policy.act(obs), agent.act(obs, explore=False, deployed=True))
    events = [p for p in tmp_path.iterdir() if p.name.startswith("events.out.tfevents")]
    assert len(events) == 1
    logged = event_accumulator.EventAccumulator(str(events[0]))
    logged.Reload()
    # the learner node's tags (test_learner_workspace): one dashboard reads both kinds of run
    for tag in ("charts/episode_return", "charts/episode_length", "charts/eval_return",
                "losses/critic", "losses/actor", "charts/q/q1_mean"):
        assert tag in logged.Tags()["scalars"], tag


def test_carracing_task_gives_hud_free_84x84_frames_and_scaled_vector():
    cfg, trainer = load_run_config(DEFAULT_CONFIG, "carracing", [])
    task = CarRacingTask(trainer, cfg.observation, cfg.action, seed=0)
    frame, vector = task.reset()
    assert frame.shape == (84, 84) and frame.dtype == np.uint8
    assert vector.shape == (3,) and vector.dtype == np.float32
    for _ in range(5):
        frame, vector, reward, term, trunc = task.step(np.array([0.0, 1.0], np.float32))
    assert vector[0] > 0 and np.isfinite(reward) and not (term or trunc)   # moving forward


def test_bad_overrides_fail_clearly(capsys):
    with pytest.raises(ConfigError, match="expected learner.<field>=<value>"):
        load_run_config(DEFAULT_CONFIG, "pendulum", ["td3.gamma=0.9"])
    with pytest.raises(SystemExit):
        main(["--env", "pendulum", "--set", "learner.td3.gamma=2"])
    assert "pendulum.learner.td3.gamma: 2.0 is above the maximum" in capsys.readouterr().err
