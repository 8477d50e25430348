"""What a benchmark watches of a running training stack, from a background listener node."""

from __future__ import annotations

import time

from carla_msgs.msg import CarlaEgoVehicleControl

from td3_driving.bringup import stack
from td3_driving.msg import LearnerStatus
from td3_driving.ros import qos
from td3_driving.ros.listener import Listener

LEARNER_FIELDS = ("steps_received", "learner_step", "buffer_size", "steps_dropped",
                  "steps_allowed", "weights_version")


class StackMonitor(Listener):
    """The learner's newest LearnerStatus and the control commands each vehicle published."""

    def __init__(self, roles: list[str], name: str = "bench_stack_monitor") -> None:
        super().__init__(name)
        self.status: LearnerStatus | None = None
        self.max_overrun = 0   # steps_received - steps_allowed, worst seen
        self.commands = dict.fromkeys(roles, 0)
        self.node.create_subscription(LearnerStatus, stack.LEARNER_STATUS_TOPIC,
                                      self._on_status, qos.STATS)
        for role in roles:
            self.node.create_subscription(
                CarlaEgoVehicleControl, f"/carla/{role}/vehicle_control_cmd",
                lambda _m, r=role: self._on_command(r), qos.BRIDGE)

    def _on_status(self, msg: LearnerStatus) -> None:
        with self.lock:
            self.status = msg
            self.max_overrun = max(self.max_overrun,
                                   int(msg.steps_received) - int(msg.steps_allowed))

    def _on_command(self, role: str) -> None:
        with self.lock:
            self.commands[role] += 1

    def snapshot(self) -> dict:
        """Now: {"t": monotonic time, "learner": {field: value}, "commands", "max_overrun"}.

        ``learner`` is {} before the first status; ``commands`` counts per role.
        """
        with self.lock:
            s = self.status
            learner = {} if s is None else {k: int(getattr(s, k)) for k in LEARNER_FIELDS}
            return {"t": time.monotonic(), "learner": learner,
                    "commands": dict(self.commands), "max_overrun": self.max_overrun}
