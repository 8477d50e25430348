"""run_node: a node's failing close() at shutdown is one line on stderr, not a traceback."""

import gc
import time

import pytest
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from td3_driving.ros.spin import run_node


class ClosesBadly(Node):
    def __init__(self):
        super().__init__("closes_badly")
        self.closed = False
        self.create_timer(0.05, lambda: rclpy.try_shutdown())   # as a signal would

    def close(self):
        self.closed = True
        raise RuntimeError("publisher's context is invalid")


def test_a_close_that_raises_after_shutdown_is_reported_in_one_line(capsys):
    made = []
    code = run_node(lambda: made.append(ClosesBadly()) or made[-1], args=[])
    err = capsys.readouterr().err
    assert code == 0
    assert made[0].closed
    assert "/closes_badly: shutdown interrupted before its last messages were sent " \
           "(RuntimeError: publisher's context is invalid)" in err
    assert "Traceback" not in err


def test_a_node_run_in_process_leaves_the_callers_signal_handlers_as_they_were():
    import signal
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    class Stops(Node):
        def __init__(self):
            super().__init__("stops_at_once")
            self.create_timer(0.05, lambda: rclpy.try_shutdown())

    assert run_node(Stops, args=[]) == 0
    assert {s: signal.getsignal(s) for s in before} == before


class BusyWhenStopped(Node):
    """One callback holds the executor's only thread through the shutdown while another
    callback is already handed to the executor and waits for that thread."""

    def __init__(self):
        super().__init__("busy_when_stopped")
        group = ReentrantCallbackGroup()
        self.busy = self.create_timer(0.01, self.hold_then_stop, callback_group=group)
        self.create_timer(0.01, lambda: None, callback_group=group)

    def hold_then_stop(self):
        self.busy.cancel()
        time.sleep(0.3)             # the other timer becomes ready and is queued
        rclpy.try_shutdown()        # as a signal would
        time.sleep(0.3)             # still running while run_node shuts the executor down


@pytest.mark.filterwarnings("ignore:MultiThreadedExecutor is used with a single thread")
def test_a_multithreaded_node_stops_without_orphaned_executor_errors(capsys):
    code = run_node(BusyWhenStopped, args=[], executor=lambda: MultiThreadedExecutor(1))
    gc.collect()                    # an un-retrieved task error is printed when collected
    err = capsys.readouterr().err
    assert code == 0
    assert "never retrieved" not in err and "Traceback" not in err, err
