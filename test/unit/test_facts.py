"""A record names the command that wrote it, retypable, and the machine it ran on."""

import shlex
import sys

from td3_driving.apps.facts import command_line, machine_facts


def test_the_command_line_is_retypable_with_quoted_arguments(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["evaluate.py", "--policy", "runs/a b/p.safetensors",
                                      "--headline"])
    line = command_line("td3_driving.apps.evaluate")
    assert line.startswith("./env.sh python -m td3_driving.apps.evaluate ")
    assert shlex.split(line)[4:] == ["--policy", "runs/a b/p.safetensors", "--headline"]


def test_machine_facts_name_cores_versions_and_date():
    facts = machine_facts()
    assert facts["cpus"] >= 1 and facts["python"].count(".") == 2
    assert len(facts["date"]) == 10 and facts["torch"]
