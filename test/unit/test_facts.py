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


def test_machine_facts_say_what_makes_two_cpus_comparable(monkeypatch):
    import builtins
    real_open = builtins.open
    cpuinfo = "model name\t: Test CPU 9000\nflags\t\t: fpu sse avx2 amx_bf16 amx_tile\n"

    def fake_open(path, *args, **kwargs):
        if path == "/proc/cpuinfo":
            import io
            return io.StringIO(cpuinfo)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", fake_open)
    facts = machine_facts()
    assert facts["cpu_model"] == "Test CPU 9000" and facts["bf16_native"] is True
    assert facts["cpu_isa"] and facts["memory_gb"] > 0
    cpuinfo = "model name\t: Test CPU 1\nflags\t\t: fpu sse avx2\n"
    assert machine_facts()["bf16_native"] is False
