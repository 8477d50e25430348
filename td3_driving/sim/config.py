"""Configuration of the embedded simulator and of the reference controller.

One source of truth: these dataclasses hold every default, description and range; the nodes
declare them as ROS parameters (td3_driving.ros.params) and config/sim.yaml only overrides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from td3_driving.core.config_base import param

# CarRacing-v3 integrates its physics at a fixed 50 Hz.
PHYSICS_DT = 0.02


@dataclass(frozen=True)
class CarRacingConfig:
    """The gymnasium CarRacing-v3 backend (ROS-free)."""

    seed: int = param(0, "Seed of the first episode; episode k (0-based) uses seed + k, so a "
                      "run is reproducible track by track.", low=0, high=2**31 - 1)
    image_width: int = param(96, "Camera image width in pixels.", low=8, high=1024)
    image_height: int = param(84, "Camera image height in pixels. 96x84 is the env's 96x96 "
                              "observation with its 12-row HUD strip removed (bit for bit at "
                              "render_scale 1).",
                              low=8, high=1024)
    max_episode_frames: int = param(1000, "Physics frames (0.02 s each) after which an episode "
                                    "is truncated (later frames of its last tick are not "
                                    "scored); 1000 is "
                                    "CarRacing-v3's registered limit, which the native score "
                                    "assumes. 0 = no limit.", low=0)
    lap_complete_percent: float = param(0.95, "Fraction of track tiles that must be visited "
                                        "before crossing the start counts as a completed lap.",
                                        low=0.0, high=1.0)
    domain_randomize: bool = param(False, "Randomise grass/road colours on every reset.")
    render_scale: float = param(0.5, "Resolution of the view drawn before it is scaled down to "
                                "the camera image, relative to CarRacing's 1000x800 window: "
                                "1 gives the env's own pixels; 0.5 draws a quarter of them "
                                "(a 96x84 image then differs by ~0.1 grey levels on average, "
                                "at edges) in a quarter of the time.", low=0.1, high=1.0)


@dataclass(frozen=True)
class PurePursuitConfig:
    """Pure pursuit steering and a curvature-aware speed PID (ROS-free)."""

    wheelbase_m: float = param(3.24, "Distance between axles (CarRacing's car: 3.24 m).",
                               low=0.5, high=10.0)
    steer_per_rad: float = param(1.0, "Steer command per radian of front wheel angle. "
                                 "CarRacing turns its wheels `steer` radians (limit 0.4): 1.0; "
                                 "CARLA: 1 / max_steer_angle.", low=0.1, high=20.0)
    lookahead_min_m: float = param(6.0, "Look-ahead distance at standstill, metres.",
                                   low=0.5, high=50.0)
    lookahead_gain_s: float = param(0.25, "Look-ahead grows by this many seconds of travel.",
                                    low=0.0, high=5.0)
    # CarRacing's car tops out near 100 m/s and, being a 7 kg Box2D body with 400 N of grip
    # per wheel, corners and brakes far harder than a real car: these defaults are tuned on it
    # (native score ~918 over seeds 0-9 in-process) and are far too high for CARLA.
    max_speed_mps: float = param(100.0, "Speed on straights, m/s.", low=0.5, high=500.0)
    max_lateral_accel: float = param(200.0, "Lateral acceleration the speed profile allows in "
                                     "curves, m/s^2.", low=0.5, high=1000.0)
    max_decel: float = param(100.0, "Deceleration the speed profile plans with, m/s^2.",
                             low=0.5, high=1000.0)
    preview_m: float = param(60.0, "Distance ahead scanned for curves when planning the "
                             "speed, metres.", low=1.0, high=500.0)
    kp: float = param(0.2, "Speed PID proportional gain, per m/s.", low=0.0, high=10.0)
    ki: float = param(0.02, "Speed PID integral gain, per m.", low=0.0, high=10.0)
    kd: float = param(0.0, "Speed PID derivative gain, per m/s^2.", low=0.0, high=10.0)
    throttle_steer_reduction: float = param(0.8, "Throttle cap reduction at 0.4 rad of "
                                            "steering (linear in the angle): rear-wheel "
                                            "drive spins out under power in curves.",
                                            low=0.0, high=1.0)
    slip_cutoff_mps: float = param(2.0, "Throttle is cut while the body's lateral speed "
                                   "exceeds this (traction control), m/s.", low=0.0)
    max_brake: float = param(0.8, "Largest brake command; CarRacing locks the wheels at 0.9.",
                             low=0.0, high=1.0)


@dataclass(frozen=True)
class SimBridgeConfig:
    """The sim_bridge node: carla-ros-bridge interface around the backend."""

    role_name: str = param("ego_vehicle", "Ego vehicle name: topics live under /carla/<role_name>/"
                           " and the vehicle's TF frame is <role_name>.")
    fixed_delta_seconds: float = param(0.08, "Simulated seconds per tick; a multiple of the "
                                       "0.02 s physics step (0.08 = 4 physics steps).",
                                       low=0.02, high=1.0)
    synchronous_mode: bool = param(True, "carla-ros-bridge's synchronous_mode: the world "
                                   "advances in ticks of exactly fixed_delta_seconds and "
                                   "/carla/control (pause, step once) is honoured. False: "
                                   "asynchronous, ticking on the simulator's clock only.")
    synchronous_mode_wait_for_vehicle_control_command: bool = param(
        False, "carla-ros-bridge's lockstep switch (synchronous mode only): after each frame "
        "wait for the one vehicle_control_cmd that answers it (its header.stamp = the frame's "
        "stamp), then tick; on control_timeout_s tick with the previous control. False (the "
        "bridge's default): tick on the simulator's clock from start-up, applying the latest "
        "command. Training sets it true.")
    control_timeout_s: float = param(1.0, "Lockstep: wall seconds to wait for a control command "
                                     "before ticking with the previous control (the bridge: "
                                     "1 s).", low=0.001, high=60.0)
    real_time_factor: float = param(1.0, "Ticking on the simulator's clock (no wait for "
                                    "commands): simulated seconds per wall second.",
                                    low=0.01, high=100.0)
    owns_clock: bool = param(True, "Publish the global /clock and /carla/status. Exactly one "
                             "simulator per ROS graph may own them.")
    camera_fov_deg: float = param(90.0, "Horizontal field of view reported in camera_info.",
                                  low=1.0, high=170.0)
    waypoint_spacing_m: float = param(1.0, "Spacing of the waypoints Path along the track "
                                      "centerline, metres.", low=0.1, high=20.0)
    auto_reset_ticks: int = param(50, "Ticks after an episode ended (lap, playfield exit, step "
                                  "limit) without a next_track request before the simulator "
                                  "loads the next track itself. 0 = never.", low=0)
    carracing: CarRacingConfig = param(CarRacingConfig(), "Backend settings.")
    autopilot: PurePursuitConfig = param(PurePursuitConfig(), "The autopilot "
                                         "(enable_autopilot): the reference controller "
                                         "driving inside the simulator.")

    def __post_init__(self) -> None:
        if not math.isclose(self.fixed_delta_seconds / PHYSICS_DT,
                            round(self.fixed_delta_seconds / PHYSICS_DT), abs_tol=1e-6):
            raise ValueError(f"fixed_delta_seconds={self.fixed_delta_seconds} is not a multiple "
                             f"of the {PHYSICS_DT} s physics step")

    @property
    def frames_per_tick(self) -> int:
        return round(self.fixed_delta_seconds / PHYSICS_DT)


@dataclass(frozen=True)
class ReferenceControllerConfig:
    """The reference_controller node: pure pursuit driving through the bridge topics."""

    role_name: str = param("ego_vehicle", "Ego vehicle to drive (/carla/<role_name>/...).")
    off_track_distance_m: float = param(8.0, "Distance from the waypoints path beyond which the "
                                        "car counts as off track, metres.", low=0.5)
    off_track_ticks: int = param(25, "Consecutive off-track ticks after which the controller "
                                 "resets the episode. 0 = never.", low=0)
    reset_on_episode_end: bool = param(True, "Request the next track (next_track) when the "
                                       "simulator reports the episode's end.")
    pursuit: PurePursuitConfig = param(PurePursuitConfig(), "Pure pursuit and speed PID.")
