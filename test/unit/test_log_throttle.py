"""ros.log_throttle: one message per key and period, the held-back count on the next one."""

from td3_driving.ros.log_throttle import KeyedThrottle, ThrottledLogger


class Recorder:
    def __init__(self):
        self.lines = []

    def warning(self, message, **_):
        self.lines.append(("warning", message))

    def error(self, message, **_):
        self.lines.append(("error", message))


def test_each_key_has_its_own_period_and_counts_what_it_held_back():
    throttle = KeyedThrottle(period_s=5.0)
    assert throttle.allow("a", 0.0) == 0
    assert throttle.allow("b", 1.0) == 0        # another cause is not hidden behind "a"
    assert throttle.allow("a", 2.0) is None
    assert throttle.allow("a", 4.9) is None
    assert throttle.allow("a", 5.0) == 2        # two held back since the last one
    assert throttle.allow("a", 11.0) == 0


def test_the_logger_says_how_many_messages_it_held_back():
    now = [0.0]
    rec = Recorder()
    log = ThrottledLogger(rec, period_s=5.0, clock=lambda: now[0])
    assert log.warning("x", "bad x")
    assert not log.warning("x", "bad x")
    assert log.error("y", "bad y")
    now[0] = 6.0
    assert log.warning("x", "bad x again")
    assert rec.lines == [("warning", "bad x"), ("error", "bad y"),
                         ("warning", "bad x again [1 similar message(s) held back]")]
