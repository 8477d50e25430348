"""One vehicle's agent as a ROS-free loop: frames in; controls, resets and experience out.

The agent node (frames assembled from the carla-ros-bridge topics) and DrivingEnv (frames
from the in-process simulator) run this same loop, so the ROS stack and the gymnasium
environment share one set of episode rules (docs/architecture.md):

- Phases: ``reset`` -> ``running`` -> ``reset`` ... Every frame is answered with exactly
  one control, stamped with that frame's stamp (a lockstep simulator matches them).
- Reset protocol: ask for a new track where the simulator offers one (then wait for its
  fresh route), teleport to the route's start pose (first waypoint, heading toward the
  second), hold still for ``settle_ticks`` frames after the teleport, then begin.
- Acting: in 'train' mode core.actions.exploration_action (uniform random actions until
  the first weights, then the policy plus Gaussian noise), the policy alone in 'drive'
  mode, or an action given from outside (:meth:`AgentLoop.answer`, DrivingEnv's ``step``).
- Experience: one step per frame after the first, flushed in batches of ``batch_steps``;
  the newest step stays behind until the next one, so an episode cut from outside
  (simulator restart, shutdown) can still flag it truncated.
- Backpressure (training): while the learner's budget is spent, a running frame is held
  (the simulator paused) until a status allows more, or the status is older than
  ``learner_timeout_s`` (no learner: drive on, experience counted as dropped).

The outside world is an :class:`AgentOutputs`; a wall clock is injected for the learner
timeouts. Nothing here imports ROS.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from td3_driving.core.actions import exploration_action, to_vehicle_control
from td3_driving.core.config import ActionConfig
from td3_driving.core.experience import ExperienceRecorder, StepBatch
from td3_driving.task.config import AgentConfig
from td3_driving.task.driving import DrivingTask, Observation, VehicleState
from td3_driving.task.reward import StepOutcome

ACTION_SIZE = 2                                    # (steer, accel) in [-1, 1]
HOLD_STILL = np.array([0.0, -1.0], np.float32)     # no steer, full brake
# Frames to wait for the route a track request announces before driving on with the old
# one: a simulator that ignores the request (or lost its answer) must not stop the agent.
ROUTE_WAIT_FRAMES = 50


@dataclass(frozen=True)
class SensorFrame:
    """What one simulator frame tells the agent, in the map frame (REP-103)."""

    stamp_ns: int               # sim time of the frame; answered commands carry it
    image: np.ndarray | None    # uint8 RGB [H, W, 3] (or mono [H, W]); None: no camera
    state: VehicleState
    off_road_event: bool = False   # a lane invasion onto grass since the previous frame
    collision: bool = False        # a collision event since the previous frame
    sim_end: str = ""              # the simulator's own episode ended here (in-process only)


@dataclass(frozen=True)
class Control:
    """One command, as a simulator receives it (float32 fields, like CarlaEgoVehicleControl)."""

    steer: float
    throttle: float
    brake: float
    stamp_ns: int               # the stamp of the frame this command answers


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode of this agent (the node publishes it as EpisodeStats)."""

    agent_id: str
    episode_id: int
    policy_version: int
    evaluation: bool
    episode_return: float
    length: int
    reason: str                 # DrivingTask / LaneKeepingReward reason, or sim_reset/shutdown
    route_completion: float
    sim_time: float             # seconds of sim time; NaN when cut without a frame


@dataclass(frozen=True)
class Step:
    """A frame the loop turned into an observation.

    ``outcome`` is None on an episode's first frame. When ``done`` the loop has already
    ended the episode and answered the frame; otherwise the frame still needs an action
    (:meth:`AgentLoop.act` or :meth:`AgentLoop.answer`).
    """

    observation: Observation
    outcome: StepOutcome | None
    done: bool


class AgentOutputs(Protocol):
    """What the loop asks of the world around it (topics in the node, calls in DrivingEnv)."""

    def control(self, control: Control) -> None: ...

    def can_request_track(self) -> bool: ...

    def request_track(self) -> None: ...

    def teleport(self, x: float, y: float, yaw: float) -> None: ...

    def pause(self, paused: bool) -> None: ...

    def episode_end(self, record: EpisodeRecord) -> None: ...

    def experience(self, batch: StepBatch) -> str:
        """Send a batch; "" when sent, else why not (the loop counts the steps dropped)."""

    def log(self, level: str, cause: str, text: str) -> None:
        """``level`` in info/warning/error; per-step causes are throttled by the receiver."""


class AgentLoop:
    """The episode state machine of one vehicle; see the module docstring."""

    def __init__(self, cfg: AgentConfig, task: DrivingTask, action_cfg: ActionConfig,
                 outputs: AgentOutputs, agent_id: str, *, training: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg, self.task, self.action_cfg, self.out = cfg, task, action_cfg, outputs
        self.agent_id = agent_id
        self.training = cfg.mode == "train" if training is None else training
        self.clock = clock
        self.rng = np.random.default_rng(cfg.seed)
        self.noise_std = cfg.exploration_noise if self.training else 0.0
        self.recorder = ExperienceRecorder(agent_id, ACTION_SIZE) if self.training else None
        self.policy = None               # anything with act(obs_dict) -> action
        self.policy_version = 0
        self.phase = "reset"
        self.episodes = 0
        self.dropped_steps = 0
        self.held_frame: SensorFrame | None = None
        self.paused = False
        self.learner_budget: tuple[int, int] | None = None   # (steps_received, steps_allowed)
        self._status_wall = -math.inf
        self._learner_stopped = False
        self._steps_since_status = 0
        self._frame: SensorFrame | None = None         # the frame being answered
        self._last_control = self._control(HOLD_STILL, 0)
        self._last_action = np.zeros(ACTION_SIZE, np.float32)
        self._route_fresh = False
        self._awaiting_route = False
        self._route_wait = 0
        self._teleported = False
        self._settle = 0
        self._return = 0.0
        self._steps = 0
        self._start_ns = 0

    # --- inputs besides frames ------------------------------------------------------------
    def set_route(self, points: np.ndarray) -> None:
        """New waypoints ([N, 2] map x/y); ValueError for an unusable route (kept the old)."""
        self.task.set_route(points)
        self._route_fresh = True

    def set_policy(self, policy, version: int) -> None:
        """Swap the acting policy between two frames: the next action uses it entirely."""
        self.policy, self.policy_version = policy, int(version)

    def learner_status(self, steps_received: int, steps_allowed: int,
                       stopped: bool = False) -> None:
        """The learner's budget; a frame held back is released once it allows more."""
        self.learner_budget = (int(steps_received), int(steps_allowed))
        self._learner_stopped = stopped
        self._status_wall = self.clock()
        self._steps_since_status = 0
        self._release_if_allowed()

    def check_held(self) -> None:
        """Periodic: a learner that died while holding the agent back sends no status."""
        if self.held_frame is not None and not self._throttled():
            self.out.log("warning", "learner_gone",
                         f"no learner status for {self.cfg.learner_timeout_s} s while held "
                         "back: learner gone? driving on; experience is counted as dropped "
                         "until it returns")
            self._release_if_allowed()

    def simulator_restarted(self, why: str) -> None:
        """The simulator announced a restart: cut the episode, start over with a reset."""
        self.out.log("warning", "sim_restart", f"{why}: simulator restarted; truncating the "
                     "episode")
        self.held_frame = None
        self._end_episode("sim_reset", None)
        self._enter_reset(request_track=True)

    def restart(self) -> None:
        """Begin a new episode on a new track (DrivingEnv.reset): cut a running one first."""
        if self.phase == "running":
            self._end_episode("sim_reset", None)
        self._enter_reset(request_track=True)

    def refuse_frame(self, stamp_ns: int, cause: str, text: str) -> None:
        """A frame that cannot be used: answered with the previous control, no experience."""
        self.out.log("error", cause, f"bad frame at {stamp_ns / 1e9:.2f} s: {text}; frame "
                     "skipped (no experience from it), holding the previous control")
        c = self._last_control
        self.out.control(Control(c.steer, c.throttle, c.brake, stamp_ns))

    def close(self) -> None:
        """Cut a running episode (truncated), send what is pending, resume the simulator."""
        if self.phase == "running":
            self._end_episode("shutdown", None, reset=False)
        self._set_paused(False)

    # --- frames ---------------------------------------------------------------------------
    def drive(self, frame: SensorFrame) -> None:
        """Process a frame and act on it with the loop's own policy (explored in training)."""
        step = self.on_frame(frame)
        if step is not None and not step.done:
            self.act(step)

    def on_frame(self, frame: SensorFrame) -> Step | None:
        """Process one frame; None when the loop answered (or held) it by itself."""
        if self.phase == "running" and self._throttled():
            self.held_frame = frame      # acted on when the learner has caught up
            self._set_paused(True)
            return None
        self._frame = frame
        if self.phase == "reset":
            return self._step_reset(frame)
        return self._step_running(frame)

    def act(self, step: Step) -> None:
        """Answer ``step``'s frame with the policy's action (in training: explored)."""
        if self.policy is None and not self.training:
            raise RuntimeError("AgentLoop.act in 'drive' mode without a policy")
        action = None if self.policy is None else self.policy.act(step.observation.as_dict())
        self.answer(exploration_action(self.rng, action, self.noise_std, ACTION_SIZE))

    def answer(self, action: np.ndarray) -> None:
        """Answer the current frame with ``action`` (network space, [-1, 1])."""
        self._last_action = np.asarray(action, np.float32).reshape(ACTION_SIZE)
        self._publish(self._last_action)

    @property
    def last_action(self) -> np.ndarray:
        return self._last_action

    @property
    def episode_return(self) -> float:
        return self._return

    # --- the state machine ----------------------------------------------------------------
    def _enter_reset(self, request_track: bool) -> None:
        self.phase = "reset"
        self._teleported = False
        self._settle = self.cfg.settle_ticks
        if request_track and not self._awaiting_route and self.out.can_request_track():
            self._route_fresh = False
            self._awaiting_route = True
            self._route_wait = 0
            self.out.request_track()

    def _step_reset(self, frame: SensorFrame) -> Step | None:
        if self._awaiting_route and not self._route_fresh:
            self._route_wait += 1
            if self._route_wait <= ROUTE_WAIT_FRAMES or self.task.route is None:
                self._publish(HOLD_STILL)
                return None
            self.out.log("warning", "route_wait", f"no new route {ROUTE_WAIT_FRAMES} frames "
                         "after a track request: driving on the previous route")
        self._awaiting_route = False
        if self.task.route is None:
            self._publish(HOLD_STILL)      # no waypoints yet
            return None
        if not self._teleported:
            pts = self.task.route.points
            yaw = math.atan2(pts[1, 1] - pts[0, 1], pts[1, 0] - pts[0, 0])
            self.out.teleport(float(pts[0, 0]), float(pts[0, 1]), yaw)
            self._teleported = True
            self._publish(HOLD_STILL)
            return None
        if self._settle > 0:
            self._settle -= 1
            self._publish(HOLD_STILL)
            return None
        obs = self.task.begin(frame.image, frame.state)
        self.phase = "running"
        self._route_fresh = False
        self._return, self._steps, self._start_ns = 0.0, 0, frame.stamp_ns
        if self.recorder is not None:
            self.recorder.begin_episode(obs.frame, obs.vector, self.policy_version)
        return Step(obs, None, False)

    def _step_running(self, frame: SensorFrame) -> Step:
        obs, outcome = self.task.step(frame.image, frame.state,
                                      off_road_event=frame.off_road_event,
                                      collision=frame.collision)
        if frame.sim_end and not (outcome.terminated or outcome.truncated):
            outcome = dataclasses.replace(outcome, truncated=True,
                                          reason=f"sim:{frame.sim_end}")
        self._return += outcome.reward
        self._steps += 1
        if self.recorder is not None:
            self.recorder.step(obs.frame, obs.vector, self._last_action, outcome.reward,
                               outcome.terminated, outcome.truncated, self.policy_version)
            self._steps_since_status += 1
        done = outcome.terminated or outcome.truncated
        if done:
            self._end_episode(outcome.reason, frame)
            self._publish(HOLD_STILL)
        self._flush(force=False)
        return Step(obs, outcome, done)

    def _end_episode(self, reason: str, frame: SensorFrame | None, reset: bool = True) -> None:
        if self.phase != "running":
            return
        if self.recorder is not None and frame is None:
            self.recorder.truncate_last()   # cut from outside: bootstrap from the last step
        sim_time = math.nan if frame is None else (frame.stamp_ns - self._start_ns) / 1e9
        record = EpisodeRecord(self.agent_id, self.episodes, self.policy_version,
                               not self.training, self._return, self._steps, reason,
                               self.task.route_completion, sim_time)
        self.episodes += 1
        self.out.episode_end(record)
        self._flush(force=True)
        self.phase = "reset"
        if reset:
            self._enter_reset(request_track=True)

    # --- outputs --------------------------------------------------------------------------
    def _control(self, action: np.ndarray, stamp_ns: int) -> Control:
        # float32 on the wire (CarlaEgoVehicleControl): the simulator applies these values
        steer, throttle, brake = to_vehicle_control(action, self.action_cfg)
        return Control(float(np.float32(steer)), float(np.float32(throttle)),
                       float(np.float32(brake)), stamp_ns)

    def _publish(self, action: np.ndarray) -> None:
        stamp = self._frame.stamp_ns if self._frame is not None else 0
        self._last_control = self._control(action, stamp)
        self.out.control(self._last_control)

    def _flush(self, force: bool) -> None:
        rec = self.recorder
        if rec is None or (not force and rec.pending() <= self.cfg.batch_steps):
            return
        batch = rec.flush(keep_last=not force)
        if batch is None:
            return
        why = self.out.experience(batch)
        if why:
            self.dropped_steps += len(batch)
            self.out.log("warning", f"dropped:{why[:24]}",
                         f"{why}: {self.dropped_steps} steps dropped so far")

    # --- backpressure ---------------------------------------------------------------------
    def _throttled(self) -> bool:
        if not self.training or self.learner_budget is None or self._learner_stopped:
            return False
        if self.clock() - self._status_wall > self.cfg.learner_timeout_s:
            return False   # no learner: keep driving; experience is counted as dropped
        received, allowed = self.learner_budget
        return self._steps_since_status >= allowed - received

    def _release_if_allowed(self) -> None:
        if self.held_frame is not None and not self._throttled():
            frame, self.held_frame = self.held_frame, None
            self._set_paused(False)
            self.drive(frame)

    def _set_paused(self, paused: bool) -> None:
        if self.cfg.pause_when_throttled and paused != self.paused:
            self.out.pause(paused)
            self.paused = paused
