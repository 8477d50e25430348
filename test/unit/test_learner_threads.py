"""learner/threads.py: the learner's torch threads follow the cores others leave idle.

The machine's and the process's CPU clocks are fed in; nothing is timed.
"""

import pytest

from td3_driving.learner.threads import ThreadFitter


class Clocks:
    """CPU seconds of the whole machine and of the learner's process, advanced by hand."""

    def __init__(self):
        self.machine, self.own, self.applied = 1000.0, 50.0, []

    def run(self, seconds: float, learner_cores: float, other_cores: float) -> None:
        self.own += learner_cores * seconds
        self.machine += (learner_cores + other_cores) * seconds

    def fitter(self, cores: int = 2, **kw) -> ThreadFitter:
        return ThreadFitter(cores, lambda: self.machine, lambda: self.own,
                            self.applied.append, now=0.0, **kw)


def test_two_cores_and_one_vehicle_give_the_learner_both_and_a_busy_process_takes_one_back():
    c = Clocks()
    f = c.fitter(period_s=10.0)
    assert f.poll(0.0) is None and c.applied == [1]     # starts with one, from this thread
    c.run(5.0, 1.0, 0.3)
    assert f.poll(5.0) is None                           # within the period: no change
    c.run(5.0, 1.0, 0.3)                                 # a vehicle: 0.3 of a core
    assert f.poll(10.0) == 2 and c.applied == [1, 2]
    assert f.other_cores == pytest.approx(0.3)
    c.run(10.0, 1.7, 0.3)
    assert f.poll(20.0) is None and f.threads == 2       # the learner's own CPU is not "others"
    c.run(10.0, 0.8, 1.2)                                # someone else's busy process
    assert f.poll(30.0) == 1 and c.applied == [1, 2, 1]


@pytest.mark.parametrize("cores, others, threads", [
    (2, 0.0, 2), (2, 0.5, 2), (2, 0.6, 1), (2, 1.0, 1), (2, 3.0, 1),
    (8, 0.4, 8), (8, 2.7, 5), (1, 0.0, 1)])
def test_the_count_is_the_idle_cores_rounded_at_least_one_at_most_all(cores, others, threads):
    assert Clocks().fitter(cores).target(others) == threads


def test_without_a_machine_clock_the_count_stays_at_one():
    c = Clocks()
    f = ThreadFitter(2, lambda: None, lambda: c.own, c.applied.append, now=0.0)
    f.poll(0.0)
    c.run(20.0, 1.0, 0.0)
    assert f.poll(20.0) is None and f.threads == 1 and c.applied == [1]


def test_a_fitter_needs_a_core_and_a_period():
    with pytest.raises(ValueError, match="cores >= 1"):
        Clocks().fitter(cores=0)
