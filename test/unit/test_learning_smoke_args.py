"""benchmarks/learning_smoke.py: a tuning variant never takes the default's record, and a
run is finished (--evaluate_only) only by the arguments it was trained with."""

import json

import pytest

# learning_smoke drives the ROS stack: it imports the built messages
pytest.importorskip("td3_driving.msg", reason="learning_smoke needs the built messages: ./env.sh")
from benchmarks.learning_smoke import finished_run, record_name, training_failure  # noqa: E402
from td3_driving.core.config_base import parse_assignments  # noqa: E402


def test_overrides_are_read_as_yaml_values_and_malformed_ones_are_refused():
    assert parse_assignments(["replay.n_step=3", "td3.tau=0.01", "td3.gamma=0.99"]) == {
        "replay.n_step": 3, "td3.tau": 0.01, "td3.gamma": 0.99}
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_assignments(["replay.n_step"])


def test_a_tagged_variant_has_its_own_record_name():
    base = {"preset": "route", "seed": 1, "budget_frames": 100_000}
    assert record_name(base) == "ros-route-s1"
    assert record_name({**base, "tag": "n3"}) == "ros-route-n3-s1"
    assert record_name({**base, "tag": "n3", "budget_frames": 300_000}) == \
        "ros-route-n3-s1-300k"


def trained_run(tmp_path, preset="route", n_step=3):
    (tmp_path / "policy.safetensors").write_bytes(b"")
    learner = {"observation": {"preset": preset}, "replay": {"n_step": n_step}}
    (tmp_path / "results.json").write_text(json.dumps({"config": {"learner": learner}}))
    return tmp_path


def test_a_run_is_finished_only_with_the_arguments_it_was_trained_with(tmp_path):
    run = trained_run(tmp_path)
    assert finished_run(run, "route", {"replay.n_step": 3})["config"]["learner"]
    assert finished_run(run, None, {})
    with pytest.raises(ValueError, match="trained with --preset route, not state"):
        finished_run(run, "state", {"replay.n_step": 3})
    with pytest.raises(ValueError, match=r"trained with replay.n_step=3, not 1"):
        finished_run(run, "route", {"replay.n_step": 1})


def test_a_run_whose_training_did_not_end_is_not_evaluated(tmp_path):
    with pytest.raises(ValueError, match="holds no finished training"):
        finished_run(tmp_path, "route", {})


def test_why_a_training_run_left_nothing_to_evaluate(tmp_path):
    assert "exited with code 1 before the learner wrote its results" in \
        training_failure(tmp_path, 1)
    (tmp_path / "results.json").write_text(json.dumps({"stop_reason": "diverged: nan"}))
    assert training_failure(tmp_path, 0) == \
        "training ended (diverged: nan) without a policy to evaluate"
    assert "stop reason: diverged: nan" in training_failure(tmp_path, 2)
    (tmp_path / "policy.safetensors").write_bytes(b"")
    assert training_failure(tmp_path, 0) is None


def test_a_run_that_died_is_recorded_with_why_and_no_score(tmp_path, monkeypatch):
    import benchmarks.learning_smoke as smoke
    monkeypatch.setattr(smoke, "RESULTS", tmp_path / "results")
    summary = {"seed": 3, "preset": "route", "frames_per_step": 4, "budget_frames": 100_000,
               "tag": "", "overrides": {}, "train_wall_s": 61.0, "sittings": 1,
               "learner": {"steps_received": 500, "updates": 100}, "frames": 2000}
    path = smoke.write_record(summary, tmp_path / "run", "--seed 3 --record", died="killed")
    record = json.loads(path.read_text())
    assert path.name == "learning-ros-route-s3.json"
    assert record["status"] == "died" and record["failure"] == "killed"
    assert record["final"] is None and record["frames"] == 2000 and record["updates"] == 100
    assert record["command"] == "./env.sh python -m benchmarks.learning_smoke --seed 3 --record"
