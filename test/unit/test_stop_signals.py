"""The starter's signal policy: first signal stops in order, a later one hurries, repeats of
one delivery (timeout + make) count once, and an inherited ignored SIGINT is reset."""

import signal

import pytest

from td3_driving.bringup.launcher import StopRequested, StopSignals


@pytest.fixture
def signals():
    saved = {s: signal.getsignal(s) for s in StopSignals.SIGNALS}
    stops = StopSignals("test")
    yield stops
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_an_ignored_sigint_is_reset_and_the_first_signal_asks_to_stop(signals):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signals.install()
    with pytest.raises(StopRequested, match="SIGINT"):
        signal.raise_signal(signal.SIGINT)
    assert not signals.hurry.is_set()


def test_a_repeat_at_once_is_one_signal_a_later_one_hurries(signals, monkeypatch, capsys):
    now = [100.0]
    monkeypatch.setattr("td3_driving.bringup.launcher.time.monotonic", lambda: now[0])
    signals.install()
    with pytest.raises(StopRequested, match="SIGTERM"):
        signal.raise_signal(signal.SIGTERM)
    now[0] += 0.1                          # `timeout` signals the process group as well
    signal.raise_signal(signal.SIGTERM)
    assert not signals.hurry.is_set()
    now[0] += StopSignals.REPEAT_S
    signal.raise_signal(signal.SIGINT)     # the user presses Ctrl-C while it stops
    assert signals.hurry.is_set()
    assert "SIGINT again: not waiting any longer" in capsys.readouterr().out
