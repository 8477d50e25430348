"""The fast camera view draws exactly the pixels of CarRacing's own renderer."""

import numpy as np
import pygame
import pytest
from gymnasium.envs.box2d import car_racing as cr

from td3_driving.sim.carracing import _VIEW_H, _HeadlessCarRacing


def _view(env) -> np.ndarray:
    return pygame.surfarray.array3d(env.surf)[:, :_VIEW_H].copy()


@pytest.mark.parametrize("seed,randomize", [(3, False), (8, True)])
def test_fast_view_equals_the_env_view(seed, randomize):
    ours, ref = _HeadlessCarRacing(domain_randomize=randomize), \
        cr.CarRacing(domain_randomize=randomize)
    ours.reset(seed=seed)
    ref.reset(seed=seed)
    rng = np.random.default_rng(seed)
    compared = 0
    for k in range(120):
        action = np.array([rng.uniform(-1, 1), rng.uniform(0, 1), rng.uniform(0, 0.2)])
        ours.step(action)
        ref.step(action)
        if k % 10 == 0:
            assert np.array_equal(_view(ours), _view(ref)), f"step {k}"
            compared += 1
    assert compared == 12
    ours.close()
    ref.close()


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_view_near_the_playfield_edge_equals_the_env_view(scale):
    """Where the field's edge is on screen the field is drawn as a polygon, elsewhere filled:
    both give the env's pixels (at scale 1; at 0.5 the same pixels as the polygon would).
    """
    from gymnasium.envs.box2d import car_dynamics

    from td3_driving.sim import render

    ours, ref = _HeadlessCarRacing(), cr.CarRacing()
    ours.render_scale = scale
    fills = []
    real_covers = render.covers
    render.covers = lambda *a: fills.append(real_covers(*a)) or fills[-1]
    try:
        for env in (ours, ref):
            env.reset(seed=5)
            env.t = 1.5   # past the zoom-in of an episode's first second (all field in view)
        for k, x in enumerate(np.linspace(0.8, 1.05, 12) * cr.PLAYFIELD):
            yaw = 0.3 * k   # turned: the field's edge crosses the view at an angle
            for env in (ours, ref):
                env.car.destroy()
                env.car = car_dynamics.Car(env.world, yaw, x, 0.25 * x)
                env.step(np.array([0.0, 0.0, 0.0]))
            if scale == 1.0:
                assert np.array_equal(_view(ours), _view(ref)), f"x {x:.1f}"
            else:   # the polygon the env would draw at this scale gives the same pixels
                filled = _view(ours)
                render.covers = lambda *a: False
                ours._render("state_pixels")
                render.covers = lambda *a: fills.append(real_covers(*a)) or fills[-1]
                assert np.array_equal(filled, _view(ours)), f"x {x:.1f}"
    finally:
        render.covers = real_covers
    assert True in fills and False in fills   # both ways of drawing the field were compared
    ours.close()
    ref.close()


def test_half_resolution_camera_is_close_to_the_full_one():
    from td3_driving.sim.carracing import CarRacingSim
    from td3_driving.sim.config import CarRacingConfig

    full, half = (CarRacingSim(CarRacingConfig(seed=6, render_scale=k), 4) for k in (1.0, 0.5))
    images = []
    for sim in (full, half):
        sim.reset()
        images.append([sim.tick(0.2 * np.sin(i / 5), 0.6, 0.0).image.astype(int)
                       for i in range(30)])
        sim.close()
    diff = np.abs(np.array(images[0]) - np.array(images[1]))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) < 30
