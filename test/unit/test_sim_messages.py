"""The simulator's per-tick messages: one message per topic, filled anew each tick."""

import numpy as np
import pytest

pytest.importorskip("carla_msgs.msg", reason="message tests need the built messages: ./env.sh")
from std_msgs.msg import Header  # noqa: E402

from td3_driving.ros import sim_messages as sm  # noqa: E402
from td3_driving.sim.carracing import CarKinematics  # noqa: E402

STATES = [CarKinematics(1.0, -2.0, 0.3, 10.0, 0.5, 0.2, (9.0, 3.0), 0.05, True),
          CarKinematics(-40.0, 7.5, -2.9, -1.0, 0.0, -0.7, (1.0, 0.1), -0.3, False)]


def header(t, frame):
    return Header(stamp=sm.sim_stamp(t), frame_id=frame)


@pytest.mark.parametrize("first,second", [(0, 1), (1, 0)])
def test_a_reused_message_holds_nothing_of_the_tick_before(first, second):
    def tick(i, out=None):
        s, h = STATES[i], header(i * 0.08, "map")
        out = out or {}
        control = sm.control_msg(h, 0.1 * i, 0.5 - 0.2 * i, 0.3 * i, out=out.get("control"))
        return {"control": control,
                "status": sm.vehicle_status(h, s, np.array([0.5, -i]), 2.0 * i, control,
                                            out=out.get("status")),
                "odometry": sm.odometry(h, "hero0", s, out=out.get("odometry")),
                "image": sm.bgra_image(header(i, "hero0/rgb_front"), 2, 3, bytes([i]) * 24,
                                       out=out.get("image"))}
    reused = tick(second, tick(first))
    fresh = tick(second)
    for name in fresh:
        assert reused[name] == fresh[name], name
