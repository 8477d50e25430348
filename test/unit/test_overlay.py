"""Video frames: the route projection lands on the road the simulator drew."""

import numpy as np

from td3_driving.recording.overlay import ROUTE_COLOR, Status, compose, route_pixels
from td3_driving.sim.carracing import CarRacingSim
from td3_driving.sim.config import CarRacingConfig


def _settled_sim():
    sim = CarRacingSim(CarRacingConfig(seed=5), frames_per_tick=4)
    sim.reset()
    for _ in range(15):   # past CarRacing's zoom-in during the first second
        result = sim.tick(0.0, 0.2, 0.0)
    return sim, result


def test_projected_centerline_lies_on_road_pixels():
    sim, result = _settled_sim()
    s = result.state
    image = result.image
    h, w = image.shape[:2]
    centre = sim.route().resampled(1.0)[:, :2]   # the waypoints' spacing
    far_from_car = np.hypot(*(centre - (s.x, s.y)).T) > 6.0   # the car hides the road
    px = np.rint(route_pixels(centre[far_from_car], (s.x, s.y, s.yaw), (w, h))).astype(int)
    inside = (px[:, 0] >= 1) & (px[:, 0] < w - 1) & (px[:, 1] >= 1) & (px[:, 1] < h - 1)
    assert inside.sum() >= 10, "some of the track must be in view"
    rgb = image[px[inside, 1], px[inside, 0]].astype(int)
    grass = (rgb[:, 1] - rgb[:, 0] > 40)   # CarRacing's grass is green, its road grey
    assert grass.mean() < 0.1, f"{grass.sum()} of {len(rgb)} route pixels are on grass"
    sim.close()


def test_compose_draws_the_route_and_has_even_sides():
    sim, result = _settled_sim()
    s = result.state
    frame = compose(result.image, Status(1.2, 0.1, 0.5, 0.0, 7.0, q=3.2), sim.centerline(),
                    (s.x, s.y, s.yaw), scale=3)
    assert frame.dtype == np.uint8 and frame.shape[0] % 2 == 0 and frame.shape[1] % 2 == 0
    assert frame.shape[0] > 84 * 3 and frame.shape[1] >= 96 * 3
    assert np.all(frame[: 84 * 3] == ROUTE_COLOR, axis=2).sum() > 50
    sim.close()
