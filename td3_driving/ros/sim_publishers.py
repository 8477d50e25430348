"""The publishers of one embedded-simulator ego vehicle and how a frame goes out on them.

sim_bridge's output side: the carla-ros-bridge topics of one ego vehicle plus our episode
score. Per-tick topics nobody subscribes to are not built at all (the cost of a tick is
mostly messages); the latched ones (vehicle_info, waypoints, world_info) and
the frame's odometry, which controllers key on, always go out.
"""

from __future__ import annotations

import math

import numpy as np
from carla_msgs.msg import (
    CarlaActorList,
    CarlaCollisionEvent,
    CarlaEgoVehicleControl,
    CarlaEgoVehicleInfo,
    CarlaEgoVehicleStatus,
    CarlaLaneInvasionEvent,
    CarlaStatus,
    CarlaWorldInfo,
)
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float32, Header
from tf2_msgs.msg import TFMessage

from td3_driving.msg import EpisodeStats
from td3_driving.ros import path_cdr, qos
from td3_driving.ros import sim_messages as sm
from td3_driving.ros.bridge import GRASS
from td3_driving.sim import carracing as cr
from td3_driving.sim import world
from td3_driving.sim.carracing import CarRacingSim
from td3_driving.sim.config import PHYSICS_DT, SimBridgeConfig

END_REASONS = {cr.END_LAP: EpisodeStats.REASON_ROUTE_COMPLETE,
               cr.END_PLAYFIELD: EpisodeStats.REASON_OFF_ROAD,
               cr.END_TIME_LIMIT: EpisodeStats.REASON_TIME_LIMIT,
               world.END_RESET: EpisodeStats.REASON_SIM_RESET,
               world.END_SHUTDOWN: EpisodeStats.REASON_SHUTDOWN}


def wanted(publisher) -> bool:
    return publisher.get_subscription_count() > 0


class BridgePublishers:
    """Creates the ego vehicle's publishers on ``node`` and publishes frames on them."""

    def __init__(self, node: Node, cfg: SimBridgeConfig):
        self.node, self.cfg, role = node, cfg, cfg.role_name
        ns, b = f"/carla/{role}", qos.BRIDGE

        def pub(msg_type, topic, profile):
            return node.create_publisher(msg_type, topic, profile,
                                         event_callbacks=qos.NO_EVENTS_PUB)

        self.image = pub(Image, f"{ns}/rgb_front/image", b)
        self.caminfo = pub(CameraInfo, f"{ns}/rgb_front/camera_info", b)
        self.status = pub(CarlaEgoVehicleStatus, f"{ns}/vehicle_status", b)
        self.info = pub(CarlaEgoVehicleInfo, f"{ns}/vehicle_info", qos.BRIDGE_LATCHED)
        self.odom = pub(Odometry, f"{ns}/odometry", b)
        self.speed = pub(Float32, f"{ns}/speedometer", b)
        self.collision = pub(CarlaCollisionEvent, f"{ns}/collision", b)  # nothing to hit
        self.lane = pub(CarlaLaneInvasionEvent, f"{ns}/lane_invasion", b)
        self.path = pub(Path, f"{ns}/waypoints", qos.WAYPOINTS)
        self.tf = pub(TFMessage, "/tf", 100)
        self.world = pub(CarlaWorldInfo, "/carla/world_info", qos.BRIDGE_LATCHED)
        self.actors = pub(CarlaActorList, "/carla/actor_list", b)  # per tick, as the bridge
        self.stats = pub(EpisodeStats, f"/sim/{role}/episode_score", qos.STATS)
        if cfg.owns_clock:
            self.clock = pub(ClockMsg, "/clock", b)
            self.carla_status = pub(CarlaStatus, "/carla/status", b)
        fov = math.radians(cfg.camera_fov_deg)
        self._camera = sm.camera_info(Header(), cfg.carracing.image_width,
                                      cfg.carracing.image_height, fov)
        self._mount = CarRacingSim.camera_mount(fov)
        # One message per per-tick topic, filled anew each tick (ros/sim_messages.py)
        self._cam_header = Header(frame_id=f"{role}/rgb_front")
        self._map_header = Header(frame_id="map")
        self._image, self._odom, self._clock = Image(), Odometry(), ClockMsg()
        self._control, self._status = CarlaEgoVehicleControl(), CarlaEgoVehicleStatus()
        self._carla_status = CarlaStatus(fixed_delta_seconds=cfg.fixed_delta_seconds,
                                         synchronous_mode=cfg.synchronous_mode)

    def vehicle(self, facts) -> None:
        """Once: vehicle_info (latched); the actor list goes out with every frame."""
        self.info.publish(sm.vehicle_info(self.cfg.role_name, facts))
        self._actors = sm.actor_list(self.cfg.role_name, facts)

    def frame(self, f: world.Frame, sensors: bool, paused: bool = False) -> None:
        """An episode's end, a new track, and (``sensors``) the frame's sensor topics."""
        stamp = sm.sim_stamp(f.sim_time)
        if f.ended:
            self.episode_end(f.ended, stamp)
        if f.track:
            # serialized here: as a message, ~1,100 poses cost rclpy ~90 ms (ros/path_cdr.py)
            w = f.track.waypoints
            xyz = np.column_stack([w[:, :2], np.zeros(len(w))])
            self.path.publish(path_cdr.encode_path(stamp, "map", xyz,
                                                   path_cdr.yaw_quaternions(w[:, 2])))
            self.world.publish(sm.world_info(f.track))
            self.node.get_logger().info(f"episode {f.episode_id}: track seed "
                                        f"{f.track.seed}, {len(f.track.waypoints)} waypoints")
        if sensors:
            self.sensors(f, paused)

    def sensors(self, f: world.Frame, paused: bool = False) -> None:
        """The frame's per-tick topics, odometry last."""
        role, s, cfg = self.cfg.role_name, f.result.state, self.cfg
        stamp = sm.sim_stamp(f.sim_time)
        cam, map_header = self._cam_header, self._map_header
        cam.stamp = map_header.stamp = stamp
        if f.result.image is not None:
            self.image.publish(sm.bgra_image(cam, cfg.carracing.image_width,
                                             cfg.carracing.image_height, f.result.image,
                                             out=self._image))
        if wanted(self.caminfo):
            self._camera.header = cam
            self.caminfo.publish(self._camera)
        if wanted(self.status):
            c = f.control
            applied = sm.control_msg(map_header, c.steer, c.throttle, c.brake,
                                     out=self._control)
            self.status.publish(sm.vehicle_status(map_header, s, f.accel_map, f.yaw_accel,
                                                  applied, out=self._status))
        if wanted(self.speed):
            self.speed.publish(Float32(data=float(s.vx)))
        if f.result.left_track:
            self.lane.publish(CarlaLaneInvasionEvent(
                header=map_header, crossed_lane_markings=[GRASS]))
        if wanted(self.actors):
            self.actors.publish(self._actors)
        if wanted(self.tf):
            self.tf.publish(sm.transforms(stamp, role, s, *self._mount))
        if cfg.owns_clock:
            self._clock.clock = stamp
            self.clock.publish(self._clock)
            if wanted(self.carla_status):
                self._carla_status.frame = f.number
                self._carla_status.synchronous_mode_running = not paused
                self.carla_status.publish(self._carla_status)
        # Last: a controller that reacts to odometry has the rest of the frame already.
        self.odom.publish(sm.odometry(map_header, role, s, out=self._odom))

    def episode_end(self, end: world.EpisodeEnd, stamp) -> None:
        summ, reason = end.summary, END_REASONS[end.reason]
        self.stats.publish(EpisodeStats(
            header=Header(stamp=stamp, frame_id="map"), agent_id=self.cfg.role_name,
            episode_id=end.episode_id, episode_return=math.nan, length=summ.ticks,
            termination_reason=reason, native_score=summ.native_score,
            route_completion=summ.route_completion, sim_time=summ.frames * PHYSICS_DT))
        self.node.get_logger().info(
            f"episode {end.episode_id} (seed {summ.seed}) ended: native score "
            f"{summ.native_score:.1f}, route {100 * summ.route_completion:.1f} %, "
            f"reason {reason}")
