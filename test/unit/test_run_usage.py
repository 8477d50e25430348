"""What a run costs: CPU per step of each process and the learner's rate (bringup/usage.py).

No timing is asserted: the CPU readings and clock are fed in.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from td3_driving.bringup.usage import RunUsage, cpu_seconds, cpu_ticks, describe


class FakeCpu:
    def __init__(self):
        self.now = {"sim_bridge": 10.0, "agent": 20.0, "learner": 5.0}
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return dict(self.now)


def test_cpu_per_step_and_training_rate_over_the_window_after_the_first_step():
    cpu = FakeCpu()
    usage = RunUsage(cpu, interval_s=1.0, machine=lambda: None)
    usage.sample(0, 0, now=0.0)            # nothing received yet: start-up is no step's cost
    assert cpu.calls == 0 and usage.report() is None
    usage.sample(100, 0, now=10.0)         # the window starts here
    cpu.now = {"sim_bridge": 14.0, "agent": 25.0, "learner": 6.0}
    usage.sample(1100, 0, now=20.0)        # warm-up: steps, no updates
    usage.sample(1150, 0, now=20.5)        # within interval_s: skipped
    assert cpu.calls == 2
    cpu.now = {"sim_bridge": 18.0, "agent": 30.0, "learner": 46.0}
    usage.sample(2100, 200, now=60.0)      # training from here
    cpu.now = {"sim_bridge": 20.0, "agent": 32.5, "learner": 66.0}
    usage.sample(2600, 300, now=80.0, force=True)
    r = usage.report()
    assert r["steps"] == 2500 and r["window_s"] == 70.0 and r["updates"] == 300
    assert r["cpu_ms_per_step"] == {"sim_bridge": 4.0, "agent": 5.0, "learner": 24.4}
    assert r["stack_cpu_ms_per_step"] == 33.4
    assert r["cpu_cores"]["learner"] == round(61.0 / 70.0, 3)
    assert r["learner_training"] == {"window_s": 20.0, "updates": 100, "updates_per_s": 5.0}
    assert r["steps_per_s"] == round(2500 / 70.0, 2)
    line = describe(r)
    assert "sim_bridge 4.0" in line and "learner 24.4" in line and "5.00 updates/s" in line
    json.dumps(r)   # what usage.json holds


def test_a_process_that_exited_meanwhile_is_left_out_and_no_training_reads_none():
    cpu = FakeCpu()
    usage = RunUsage(cpu, interval_s=0.0, machine=lambda: None)
    usage.sample(10, 0, now=1.0)
    cpu.now = {"sim_bridge": 12.0, "learner": 7.0}       # the agent is gone
    usage.sample(110, 0, now=11.0)
    r = usage.report()
    assert set(r["cpu_ms_per_step"]) == {"sim_bridge", "learner"}
    assert r["cpu_ms_per_step"]["sim_bridge"] == 20.0
    assert r["learner_training"] is None
    assert "updates/s" not in describe(r)
    assert r["other_processes_cpu_cores"] is None and "other processes" not in describe(r)


def test_what_the_rest_of_the_machine_used_is_its_cpu_minus_the_stacks():
    cpu, machine = FakeCpu(), iter([100.0, 100.0 + 35.0 + 15.0])
    usage = RunUsage(cpu, interval_s=0.0, machine=lambda: next(machine))
    usage.sample(10, 0, now=0.0)
    cpu.now = {"sim_bridge": 15.0, "agent": 30.0, "learner": 25.0}   # the stack: 35 s
    usage.sample(1010, 0, now=50.0)
    r = usage.report()
    assert r["other_processes_cpu_cores"] == 0.3        # 15 CPU-seconds in 50 s
    assert "other processes 0.30 cores" in describe(r)


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="needs /proc")
def test_the_machine_reading_counts_cpu_burnt_anywhere():
    from td3_driving.bringup.usage import machine_busy_seconds
    before, t = machine_busy_seconds(), time.process_time()
    while time.process_time() - t < 0.3:
        pass
    assert machine_busy_seconds() - before >= 0.3 - 2 / os.sysconf("SC_CLK_TCK")


def test_one_sample_or_no_new_step_is_no_report():
    usage = RunUsage(FakeCpu(), interval_s=0.0, machine=lambda: None)
    usage.sample(50, 0, now=1.0)
    assert usage.report() is None
    usage.sample(50, 0, now=2.0)
    assert usage.report() is None


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_cpu_time_of_a_process_tree_counts_its_live_children_and_not_sleep():
    # the child burns 0.3 s of CPU, says so and sleeps; the parent only sleeps
    child = ("import sys, time\nt = time.process_time()\n"
             "while time.process_time() - t < 0.3: pass\n"
             "print('busy done', flush=True)\nsys.stdin.read()\n")
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys\n"
         f"subprocess.run([sys.executable, '-c', {child!r}])\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline() == "busy done\n"
        tree = cpu_seconds(parent.pid)
        assert tree >= 0.3 - 2 / os.sysconf("SC_CLK_TCK")   # the child's loop, in ticks
        assert cpu_ticks(parent.pid) >= round(0.3 * os.sysconf("SC_CLK_TCK")) - 2
    finally:
        parent.communicate("")
    assert cpu_ticks(parent.pid) == 0   # gone
