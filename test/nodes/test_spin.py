"""run_node: a node's failing close() at shutdown is one line on stderr, not a traceback."""

import rclpy
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
