"""ros.log_throttle: one message per key and period, the held-back count on the next one;
ros.refusals: a refused message is counted and logged, nothing escapes a guarded callback."""

import pytest

from td3_driving.ros.log_throttle import KeyedThrottle, ThrottledLogger, error_kind
from td3_driving.ros.refusals import Refusals


class Recorder:
    def __init__(self):
        self.lines = []

    def info(self, message, **_):
        self.lines.append(("info", message))

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


def test_quiet_keys_are_forgotten_so_that_new_ones_cannot_grow_memory():
    throttle = KeyedThrottle(period_s=5.0, max_keys=3)
    for i in range(3):
        assert throttle.allow(f"agent{i}", 0.0) == 0
    assert throttle.allow("agent0", 1.0) is None     # still within its period
    assert throttle.allow("new", 6.0) == 0           # the three quiet ones are forgotten
    assert len(throttle._last) == 1


def test_error_kind_blanks_numbers():
    assert error_kind("field 'frames' has 2047 elements, expected 2048") == \
        error_kind("field 'frames' has 12 elements, expected 3")


def test_a_guarded_callback_counts_what_escaped_validation_and_survives():
    rec, alive = Recorder(), [True]
    refusals = Refusals(ThrottledLogger(rec, clock=lambda: 0.0), lambda: alive[0])
    seen = []

    def handler(msg):
        seen.append(msg)
        if msg is None:
            raise TypeError("no message")
    callback = refusals.guard("/t", handler)
    callback("fine")
    callback(None)
    assert seen == ["fine", None]
    assert refusals.counts == {"/t": 1} and refusals.unexpected == {"/t": 1}
    assert rec.lines == [("error", "/t: refused a message (TypeError: no message); 1 refused "
                                   "on this topic so far")]
    alive[0] = False   # shutting down: nothing counted, nothing raised
    callback(None)
    assert refusals.counts == {"/t": 1}


def test_refusals_are_counted_per_topic_and_logged_per_cause():
    rec = Recorder()
    refusals = Refusals(ThrottledLogger(rec, period_s=5.0, clock=lambda: 0.0), lambda: True)
    refusals.refuse_as("/w", "weights:bad sha", "/w: refused weights version 3: bad sha")
    refusals.refuse_as("/w", "weights:bad sha", "/w: refused weights version 4: bad sha")
    refusals.refuse_as("/w", "weights:wrong size", "/w: refused weights version 5: size")
    refusals.refuse("/s", "frame jumped ahead")
    assert refusals.counts == {"/w": 3, "/s": 1} and not refusals.unexpected
    assert [text for _, text in rec.lines] == [
        "/w: refused weights version 3: bad sha", "/w: refused weights version 5: size",
        "/s: refused a message (frame jumped ahead); 1 refused on this topic so far"]


@pytest.mark.parametrize("level", ["info", "warning", "error"])
def test_the_throttled_logger_logs_at_the_level_asked(level):
    rec = Recorder()
    ThrottledLogger(rec, clock=lambda: 0.0).log(level, "k", "text")
    assert rec.lines == [(level, "text")]
