"""A learning run that changes the learner's settings is its own row, never the default's."""

import pytest

from benchmarks.common import variant_problem
from benchmarks.learning import main


def test_a_variant_must_be_named_and_its_name_must_fit_a_file_name():
    assert variant_problem("", changes_learning=False) is None
    assert variant_problem("n3", changes_learning=True) is None
    assert "name it with --tag" in variant_problem("", changes_learning=True)
    assert "letters, digits and _ only" in variant_problem("n/3", changes_learning=True)


@pytest.mark.parametrize("argv, message", [
    (["--row", "td3", "--set", "learner.replay.n_step=3"], "name it with --tag"),
    (["--row", "sb3-td3", "--set", "learner.replay.n_step=3", "--tag", "n3"],
     "only row td3 reads"),
    (["--row", "td3", "--set", "learner.replay.n_step"], "expected KEY=VALUE"),
])
def test_the_in_process_rows_refuse_an_unnamed_or_unread_variant(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err
