"""The lockstep state machine: one frame in flight, every command applied to its frame."""

from td3_driving.sim.lockstep import Lockstep, Verdict

DT = 80_000_000  # 0.08 s in ns


def test_without_the_wait_commands_only_change_the_control():
    ls = Lockstep(wait_for_command=False)
    ls.published(DT)
    assert ls.on_command(DT) is Verdict.APPLY
    assert ls.on_command(0) is Verdict.APPLY
    assert ls.on_clock() and not ls.on_timeout()


def test_one_command_per_frame_ticks_once():
    ls = Lockstep(wait_for_command=True)
    ls.published(DT)
    assert ls.on_command(DT) is Verdict.TICK
    assert ls.on_command(DT) is Verdict.APPLY  # a second answer to the same frame
    assert ls.counters.extra_commands == 1
    assert not ls.on_clock()


def test_after_timeouts_a_late_command_neither_ticks_nor_applies():
    """A controller stalls past the timeout several times: no frame ever gets two ticks."""
    ls = Lockstep(wait_for_command=True)
    stamp = DT
    ls.published(stamp)
    for _ in range(3):
        assert ls.on_timeout()              # tick with the previous control
        stamp += DT
        ls.published(stamp)
        assert ls.on_command(stamp - DT) is Verdict.STALE  # the late answer to the old frame
        assert ls.awaiting                  # still waiting for the current frame's answer
    assert ls.on_command(stamp) is Verdict.TICK
    c = ls.counters
    assert (c.ticks_by_timeout, c.stale_commands, c.ticks_by_command) == (3, 3, 1)


def test_a_command_for_an_unpublished_frame_is_refused():
    ls = Lockstep(wait_for_command=True)
    ls.published(DT)
    assert ls.on_command(2 * DT) is Verdict.FUTURE
    assert ls.awaiting and ls.counters.future_commands == 1


def test_unstamped_commands_answer_the_current_frame():
    ls = Lockstep(wait_for_command=True)
    ls.published(DT)
    assert ls.on_command(0) is Verdict.TICK


def test_pause_holds_the_answer_until_play_and_step_once_ticks():
    ls = Lockstep(wait_for_command=True)
    ls.published(DT)
    ls.pause()
    assert ls.on_command(DT) is Verdict.APPLY and not ls.on_timeout()
    assert ls.play()                        # the held answer ticks now
    ls.published(2 * DT)
    ls.pause()
    assert ls.step_once()
    ls.play()
    assert not ls.step_once()               # ignored while playing
