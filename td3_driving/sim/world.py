"""The simulated world behind sim_bridge: tracks, requests, controls and episodes (ROS-free).

One :class:`BridgeWorld` holds one CarRacing ego vehicle. Requests (a new track, a
teleport, a target velocity) take effect at the next tick, as they do in CARLA's
synchronous mode. A track load or a teleport puts the car at rest: the frame that tick
produces shows it there, with zero speed, and no physics time passes. Every other tick
applies the control chosen by :class:`EgoControls` for ``frames_per_tick`` physics steps.

Episodes here are CarRacing's native-score episodes: one per loaded track. They end by
the task (lap, leaving the playfield, frame limit), by a new track request, or at shutdown;
``auto_reset_ticks`` after an end without a request the world loads the next track itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium.envs.box2d import car_racing as cr

from td3_driving.sim import carracing
from td3_driving.sim.carracing import CarRacingSim, EpisodeSummary, TickResult
from td3_driving.sim.config import SimBridgeConfig
from td3_driving.sim.inputs import Placement, Velocity
from td3_driving.sim.opendrive import track_opendrive
from td3_driving.sim.pure_pursuit import Control, PurePursuitDriver
from td3_driving.sim.vehicle import VehicleFacts, vehicle_facts

# Why an episode ended; the node maps these onto EpisodeStats' reasons.
END_RESET, END_SHUTDOWN = "reset", "shutdown"
# CarRacing's road: TRACK_WIDTH is the half width, metres.
ROAD_WIDTH_M = 2.0 * cr.TRACK_WIDTH
NO_CONTROL = Control(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Track:
    """A loaded track: what /carla/world_info and the waypoints Path carry."""

    seed: int
    map_name: str
    waypoints: np.ndarray   # (M, 3) x, y, yaw in map, ~waypoint_spacing_m apart
    opendrive: str


@dataclass(frozen=True)
class EpisodeEnd:
    """How a native-score episode ended."""

    summary: EpisodeSummary
    reason: str             # carracing.END_* or END_RESET / END_SHUTDOWN
    episode_id: int


@dataclass(frozen=True)
class Frame:
    """Everything one tick produced, for the node to publish."""

    number: int
    sim_time: float
    episode_id: int                  # the episode this frame belongs to
    result: TickResult
    accel_map: tuple[float, float]   # m/s^2, finite differences of the map velocity
    yaw_accel: float                 # rad/s^2
    control: Control                 # applied during this tick
    track: Track | None = None       # a track was loaded by this tick
    ended: EpisodeEnd | None = None  # an episode ended during this tick


class EgoControls:
    """Which control drives the car, as the bridge decides it.

    ``vehicle_control_cmd`` drives unless the manual override is on, in which case
    ``vehicle_control_cmd_manual`` does; the autopilot (the pure-pursuit reference
    controller driving inside the simulator) overrides both while enabled.
    """

    def __init__(self, driver: PurePursuitDriver):
        self.command = self.manual = NO_CONTROL
        self.manual_override = self.autopilot = False
        self.driver = driver

    def chosen(self, state: carracing.CarKinematics, dt: float) -> Control:
        if self.autopilot:
            return self.driver.control(state.x, state.y, state.yaw, state.vx, dt,
                                       lateral_speed=state.vy)
        return self.manual if self.manual_override else self.command

    def reset(self) -> None:
        self.command = self.manual = NO_CONTROL
        self.driver.reset()


class BridgeWorld:
    """The ticked world: call :meth:`start` once, then :meth:`tick` per frame."""

    def __init__(self, cfg: SimBridgeConfig, bgra: bool = False):
        self.cfg = cfg
        self.sim = CarRacingSim(cfg.carracing, cfg.frames_per_tick, bgra)
        self.controls = EgoControls(PurePursuitDriver(cfg.autopilot))
        self.frame = 0
        self.episode_id = -1
        self.track: Track | None = None
        self._ticks_since_end: int | None = None
        self._next_track: int | None | bool = False  # False: none; None: schedule; else seed
        self._teleport: Placement | None = None
        self._velocity: Velocity | None = None
        self._prev_vel = ((0.0, 0.0), 0.0)

    # --- requests (applied at the next tick) ----------------------------------------------
    def request_track(self, seed: int | None) -> None:
        """Load track ``seed`` (None: the next of the seed schedule) at the next tick."""
        self._next_track, self._teleport, self._velocity = seed, None, None

    def request_teleport(self, placement: Placement) -> None:
        self._teleport, self._velocity = placement, None

    def request_velocity(self, velocity: Velocity) -> None:
        self._velocity = velocity

    @property
    def episode_running(self) -> bool:
        return self._ticks_since_end is None

    def vehicle(self) -> VehicleFacts:
        return vehicle_facts(self.sim.env.car)

    # --- ticking --------------------------------------------------------------------------
    def start(self, render: bool = True) -> Frame:
        """The first frame: the first track of the schedule, the car at its start."""
        self.frame = 1
        return self._load(None, render, ended=None)

    def tick(self, render: bool = True) -> Frame:
        """Advance one frame (or apply the pending request) and report what it produced."""
        self.frame += 1
        auto = (self._ticks_since_end is not None and self.cfg.auto_reset_ticks > 0
                and self._ticks_since_end >= self.cfg.auto_reset_ticks)
        if self._next_track is not False or auto:
            seed = None if self._next_track is False else self._next_track
            ended = self._end(END_RESET) if self.episode_running else None
            return self._load(seed, render, ended)
        if self._teleport is not None:
            p, self._teleport = self._teleport, None
            self.controls.driver.reset()
            self._prev_vel = ((0.0, 0.0), 0.0)  # at rest: no acceleration spike
            return self._frame(self.sim.teleport(p.x, p.y, p.yaw, render), NO_CONTROL)
        if self._velocity is not None:
            v, self._velocity = self._velocity, None
            self.sim.set_velocity(v.vx, v.vy, v.yaw_rate)
        control = self.controls.chosen(self.sim.state(), self.cfg.fixed_delta_seconds)
        result = self.sim.tick(control.steer, control.throttle, control.brake, render)
        ended = None
        if result.end_reason:
            ended = self._end(result.end_reason)
        elif self._ticks_since_end is not None:
            self._ticks_since_end += 1
        return self._frame(result, control, ended=ended)

    def finish(self) -> EpisodeEnd | None:
        """Shutdown: the running episode's end, if one is running."""
        return self._end(END_SHUTDOWN) if self.episode_id >= 0 and self.episode_running \
            else None

    def close(self) -> None:
        self.sim.close()

    # --- internals ------------------------------------------------------------------------
    def _end(self, reason: str) -> EpisodeEnd:
        self._ticks_since_end = 0
        return EpisodeEnd(self.sim.summary(), reason, self.episode_id)

    def _load(self, seed: int | None, render: bool, ended: EpisodeEnd | None) -> Frame:
        # A teleport or velocity requested after the track request applies at the next tick.
        self._next_track = False
        self._ticks_since_end = None
        self.episode_id += 1
        result = self.sim.reset(seed, render)
        self.controls.reset()
        route = self.sim.route()
        self.controls.driver.set_path(route)
        name = f"CarRacing-v3/seed_{self.sim.seed}"
        self.track = Track(self.sim.seed, name, route.resampled(self.cfg.waypoint_spacing_m),
                           track_opendrive(name, self.sim.centerline(), ROAD_WIDTH_M))
        self._prev_vel = (result.state.vel_map, result.state.yaw_rate)
        return self._frame(result, NO_CONTROL, track=self.track, ended=ended)

    def _frame(self, result: TickResult, control: Control, track: Track | None = None,
               ended: EpisodeEnd | None = None) -> Frame:
        dt = self.cfg.fixed_delta_seconds
        (pvx, pvy), pw = self._prev_vel
        s = result.state
        accel = ((s.vel_map[0] - pvx) / dt, (s.vel_map[1] - pvy) / dt)
        yaw_accel = (s.yaw_rate - pw) / dt
        self._prev_vel = (s.vel_map, s.yaw_rate)
        return Frame(self.frame, self.frame * dt, self.episode_id, result, accel, yaw_accel,
                     control, track, ended)

