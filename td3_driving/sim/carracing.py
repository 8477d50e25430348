"""gymnasium CarRacing-v3 as a ticked vehicle simulator (ROS-free).

Units and frames (REP-103): Box2D's world is a right-handed x/y plane with CCW-positive
angles, drawn without mirroring, and the car's hull is 5 Box2D units long, so one Box2D
unit is taken as one metre and the world frame is ``map`` unchanged. The hull's local +y
axis points forward, so the vehicle's REP-103 yaw (x forward, y left) is
``hull.angle + pi/2``. CarRacing's steer action has CARLA's sign (+1 = right).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after the prompt switch)
from gymnasium.envs.box2d import car_dynamics  # noqa: E402
from gymnasium.envs.box2d import car_racing as cr  # noqa: E402

from td3_driving.sim.config import CarRacingConfig  # noqa: E402
from td3_driving.sim.render import RoadLayer, render_view  # noqa: E402
from td3_driving.task.geometry import wrap_angle  # noqa: E402
from td3_driving.task.route import Route  # noqa: E402

# The HUD strip takes the bottom 5/40 of the rendered window; a camera image is the rest.
_VIEW_H = cr.WINDOW_H - int(cr.WINDOW_H * 5 / 40)
# Where the env's view centre sits ahead of the car, metres (car drawn at 3/4 height).
_ZOOM_PX_PER_M = cr.ZOOM * cr.SCALE

END_NONE, END_LAP, END_PLAYFIELD, END_TIME_LIMIT = "", "lap_complete", "off_playfield", \
    "time_limit"


class _HeadlessCarRacing(cr.CarRacing):
    """CarRacing whose per-step rendering can be skipped (a tick renders only its last step).

    Its view is drawn by td3_driving.sim.render (same pixels, no HUD, no observation array:
    ``step`` then returns None as the observation, which no caller here reads).
    """

    render_enabled = True
    render_scale = 1.0
    road_layer: RoadLayer | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.road_layer = None  # built after the new track exists (at the first render)
        return super().reset(seed=seed, options=options)

    def _render(self, mode: str):
        if not self.render_enabled or "t" not in self.__dict__:
            return None
        if self.road_layer is None:
            self.road_layer = RoadLayer(self)
        render_view(self, self.road_layer, self.render_scale)
        return None


@dataclass(frozen=True)
class CarKinematics:
    """Kinematics of the car in ``map`` (positions, yaw) and body frame (velocities).

    The simulator's full state of the car; what an agent observes of it is the task's
    td3_driving.task.driving.VehicleState (built from the bridge topics).
    """

    x: float
    y: float
    yaw: float            # rad, CCW from map x, REP-103 body x forward
    vx: float             # m/s forward (signed)
    vy: float             # m/s to the left
    yaw_rate: float       # rad/s, CCW positive
    vel_map: tuple[float, float]   # m/s in map
    steer_angle: float    # front wheel angle, rad, CCW (left) positive
    on_track: bool        # at least one wheel on a road tile

    @property
    def speed(self) -> float:
        return math.hypot(*self.vel_map)


@dataclass(frozen=True)
class TickResult:
    """What one tick produced; reward and end flags are those of the native score."""

    image: np.ndarray | bytes | None  # (H, W, 3) uint8 RGB, or bgra8 bytes (H*W*4) when
                                      # the sim was made with bgra=True; None: not rendered
    state: CarKinematics
    reward: float         # native reward collected during this tick
    terminated: bool      # episode ended by the task this tick (lap or playfield)
    truncated: bool       # episode ended by the frame limit this tick
    end_reason: str       # END_* when the episode ended this tick, else END_NONE
    left_track: bool      # the car left the road during this tick (lane invasion: grass)


@dataclass(frozen=True)
class EpisodeSummary:
    """Native statistics of the current (or just ended) episode."""

    seed: int
    native_score: float
    route_completion: float
    frames: int
    ticks: int
    ended: bool
    end_reason: str


class CarRacingSim:
    """CarRacing-v3 advanced ``frames_per_tick`` physics steps per :meth:`tick`.

    The native score is the env's own episode return: +1000/N per newly visited tile,
    -0.1 per frame, -100 on leaving the playfield. Frames after the episode's end (until the
    next :meth:`reset`) are still simulated but no longer scored.
    """

    def __init__(self, cfg: CarRacingConfig, frames_per_tick: int = 4, bgra: bool = False):
        if frames_per_tick < 1:
            raise ValueError(f"frames_per_tick must be >= 1, got {frames_per_tick}")
        self.cfg = cfg
        self.frames_per_tick = frames_per_tick
        self.bgra = bgra  # images as bgra8 bytes (what a ROS Image carries) instead of RGB
        self.env = _HeadlessCarRacing(lap_complete_percent=cfg.lap_complete_percent,
                                      domain_randomize=cfg.domain_randomize)
        self.env.render_scale = cfg.render_scale
        self.episode_index = -1
        self.seed = cfg.seed
        self._score = 0.0
        self._frames = self._ticks = self._tiles = 0
        self._end_reason = END_NONE
        self._on_track = True
        self._loaded = False

    # --- episode -------------------------------------------------------------------------
    def restart_schedule(self, seed: int) -> None:
        """Start the seed schedule over: the next :meth:`reset` drives track ``seed``."""
        self.cfg = dataclasses.replace(self.cfg, seed=seed)
        self.episode_index = -1

    def reset(self, seed: int | None = None, render: bool = True) -> TickResult:
        """Start an episode on track ``seed`` (default: the next one of the seed schedule).

        The car stands at the track start. An explicit seed does not move the schedule.
        """
        if seed is None:
            self.episode_index += 1
            seed = self.cfg.seed + self.episode_index
        self.seed = seed
        self._loaded = True
        self.env.render_enabled = render
        self.env.reset(seed=self.seed)  # includes one physics step without action
        self._score, self._frames, self._ticks, self._tiles = 0.0, 0, 0, 0
        self._end_reason = END_NONE
        self._on_track = self._wheels_on_track()
        return self._still(render)

    def teleport(self, x: float, y: float, yaw: float, render: bool = True) -> TickResult:
        """Put the car at (x, y, yaw) in ``map`` at rest, without simulating time (as CARLA).

        The car is rebuilt there (hull and wheels are separate Box2D bodies); a zero-length
        world step then registers which road tiles its wheels touch. The episode's score
        and visited tiles carry on.
        """
        self._require_episode()
        self.env.car.destroy()
        self.env.car = car_dynamics.Car(self.env.world, yaw - math.pi / 2, x, y)
        self.env.world.Step(0.0, 6 * 30, 2 * 30)
        self._on_track = self._wheels_on_track()
        return self._still(render)

    def set_velocity(self, vx: float, vy: float, yaw_rate: float) -> None:
        """Set the car's velocity (body frame, m/s and rad/s) for the next tick, as CARLA's
        set_target_velocity does; the wheels roll at the matching speed.
        """
        self._require_episode()
        car = self.env.car
        yaw = car.hull.angle + math.pi / 2
        c, s = math.cos(yaw), math.sin(yaw)
        v_map = (c * vx - s * vy, s * vx + c * vy)
        for body in [car.hull, *car.wheels]:
            body.linearVelocity = v_map
            body.angularVelocity = yaw_rate
        for w in car.wheels:
            w.omega = vx / w.wheel_rad

    def _still(self, render: bool) -> TickResult:
        return TickResult(self._camera() if render else None, self.state(), 0.0, False, False,
                          END_NONE, False)

    def _require_episode(self) -> None:
        if not self._loaded:
            raise RuntimeError("call reset() before driving")

    def tick(self, steer: float, throttle: float, brake: float,
             render: bool = True) -> TickResult:
        """Apply one control for ``frames_per_tick`` physics steps (inputs already clamped).

        ``render`` False skips drawing the camera image (``image`` is then None).
        """
        self._require_episode()
        action = np.array([steer, throttle, brake], dtype=np.float64)
        live = not self._end_reason
        reward, reason = 0.0, END_NONE
        limit = self.cfg.max_episode_frames
        for i in range(self.frames_per_tick):
            self.env.render_enabled = render and i == self.frames_per_tick - 1
            _, r, term, _, info = self.env.step(action)
            if self._end_reason:
                continue  # episode over: keep the world moving, stop scoring
            self._frames += 1
            self._tiles = self.env.tile_visited_count
            reward += r
            if term:
                reason = END_LAP if info.get("lap_finished") else END_PLAYFIELD
            elif limit and self._frames >= limit:
                reason = END_TIME_LIMIT
            self._end_reason = reason
        self._score += reward
        self._ticks += int(live)
        on_track = self._wheels_on_track()
        left = self._on_track and not on_track
        self._on_track = on_track
        return TickResult(self._camera() if render else None, self.state(), reward,
                          reason in (END_LAP, END_PLAYFIELD), reason == END_TIME_LIMIT, reason,
                          left)

    def summary(self) -> EpisodeSummary:
        n = len(self.env.track)
        return EpisodeSummary(self.seed, self._score, self._tiles / n,
                              self._frames, self._ticks, bool(self._end_reason),
                              self._end_reason)

    # --- state ---------------------------------------------------------------------------
    def _wheels_on_track(self) -> bool:
        return any(w.tiles for w in self.env.car.wheels)

    def state(self) -> CarKinematics:
        return vehicle_state(self.env)

    def _camera(self) -> np.ndarray | bytes:
        """The rendered view without the HUD, scaled to the configured size."""
        k = self.env.render_scale
        view = self.env.surf.subsurface((0, 0, round(cr.WINDOW_W * k), round(_VIEW_H * k)))
        size = (self.cfg.image_width, self.cfg.image_height)
        scaled = pygame.transform.smoothscale(view, size)
        if self.bgra:  # one conversion straight into the bytes a ROS Image carries
            return pygame.image.tobytes(scaled, "BGRA")
        return np.ascontiguousarray(np.transpose(pygame.surfarray.pixels3d(scaled), (1, 0, 2)))

    # --- static geometry -----------------------------------------------------------------
    def centerline(self) -> np.ndarray:
        """Track centre points (N, 2) in ``map``, in driving order, starting at the start."""
        return np.array([(t[2], t[3]) for t in self.env.track], dtype=np.float64)

    def route(self) -> Route:
        """The track's centre line as a route; every track is a lap, so it is closed."""
        return Route(self.centerline(), closed=True)

    def start_pose(self) -> tuple[float, float, float]:
        _, beta, x, y = self.env.track[0]
        return float(x), float(y), wrap_angle(beta + math.pi / 2)

    @staticmethod
    def camera_mount(fov_rad: float) -> tuple[float, float]:
        """(forward, height) in metres of a pinhole looking down that sees the env's view.

        The view's centre lies ahead of the car (drawn at 3/4 of the window height); the
        height makes the horizontal field of view cover the window's width.
        """
        ahead = (cr.WINDOW_H * 3 / 4 - _VIEW_H / 2) / _ZOOM_PX_PER_M
        height = (cr.WINDOW_W / 2 / _ZOOM_PX_PER_M) / math.tan(fov_rad / 2)
        return ahead, height

    def close(self) -> None:
        self.env.close()


def vehicle_state(env: cr.CarRacing) -> CarKinematics:
    """The car of a (reset) CarRacing env in REP-103 terms; see the module docstring."""
    hull = env.car.hull
    yaw = wrap_angle(hull.angle + math.pi / 2)
    vmx, vmy = float(hull.linearVelocity[0]), float(hull.linearVelocity[1])
    c, s = math.cos(yaw), math.sin(yaw)
    return CarKinematics(
        x=float(hull.position[0]), y=float(hull.position[1]), yaw=yaw,
        vx=c * vmx + s * vmy, vy=-s * vmx + c * vmy, yaw_rate=float(hull.angularVelocity),
        vel_map=(vmx, vmy), steer_angle=float(env.car.wheels[0].joint.angle),
        on_track=any(w.tiles for w in env.car.wheels))

