"""benchmarks/learning_evals.py: wall-clock time of a run trained in several sittings."""

import importlib


def load():
    return importlib.import_module("benchmarks.learning_evals")


def test_wall_time_of_a_checkpoint_adds_the_earlier_sittings(tmp_path):
    evals = load()
    sittings = evals.Sittings(tmp_path)
    sittings.items = [{"start_unix": 1000.0, "train_wall_s": 600.0},
                      {"start_unix": 5000.0, "train_wall_s": 300.0}]
    assert sittings.wall_at(1300.0) == 300.0
    assert sittings.wall_at(5100.0) == 700.0          # 600 s before, 100 s into the second
    assert sittings.wall_at(5320.0) == 900.0          # the final checkpoint at shutdown
    assert sittings.wall_at(3000.0) is None           # between sittings: not training
    assert sittings.train_wall_s == 900.0
    sittings.end(300.0)
    assert evals.Sittings(tmp_path).items == sittings.items


def test_checkpoints_are_written_every_evaluation_period_and_all_kept():
    params = load().checkpoint_learner_params(eval_every_steps=2500, update_to_data=0.25)
    assert params == {"checkpoint_period_updates": 625, "checkpoint_period_s": 0.0,
                      "keep_checkpoints": 1000}
