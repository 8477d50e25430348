"""ros.refusals: a refused message is counted and logged; nothing escapes a guarded callback."""

import pytest

from td3_driving.ros.log_throttle import ThrottledLogger
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
