"""CarRacing's camera view drawn with the env's own pixels at a fraction of its cost (ROS-free).

CarRacing-v3 redraws every frame by transforming each of its ~800 grass and road polygons
in Python, although only ~50 of them are on screen, then draws a HUD and scales the whole
window to its 96x96 observation. A camera image needs none of the HUD (it is cropped) nor
that observation. Here the polygons are transformed all at once with numpy and culled with
the env's own rule before the env's own pygame calls draw the visible ones: the same
arithmetic in the same order, so the same pixels (test/unit/test_sim_render.py compares
them with the env's renderer frame by frame). The playfield's background, one polygon that
almost always covers the whole view, is a plain fill where it does.
"""

from __future__ import annotations

import math

import numpy as np
import pygame
from gymnasium.envs.box2d import car_racing as cr
from pygame import gfxdraw

_TWO_PI = 2.0 * math.pi
_EPS = 1e-6  # pygame.math.Vector2's epsilon: its rotation special-cases multiples of 90 deg


class RoadLayer:
    """The static polygons of one track (grass patches, then road tiles) as arrays."""

    def __init__(self, env: cr.CarRacing):
        grass = []
        d = cr.GRASS_DIM
        for x in range(-20, 20, 2):
            for y in range(-20, 20, 2):
                grass.append([(d * x + d, d * y), (d * x, d * y), (d * x, d * y + d),
                              (d * x + d, d * y + d)])
        polys = grass + [[(p[0], p[1]) for p in poly] for poly, _ in env.road_poly]
        self.vertices = np.array(polys, dtype=np.float64)  # (P, 4, 2)
        # The env's colour objects, not copies: a tile's colour changes when it is visited.
        self.env, self._grass = env, len(grass)
        b = cr.PLAYFIELD
        self.field = [(b, b), (b, -b), (-b, -b), (-b, b)]
        self.bg_color = env.bg_color

    def draw(self, surf: pygame.Surface, zoom: float, trans, angle: float,
             scale: float = 1.0) -> bool:
        """Draw onto ``surf``; False (nothing drawn) where pygame would special-case."""
        a = math.fmod(angle, _TWO_PI)
        if a < 0:
            a += _TWO_PI
        if math.fmod(a + _EPS, math.pi / 2) < 2 * _EPS:
            return False
        c, s = math.cos(a), math.sin(a)
        # Field background: drawn unclipped, as the env does; a plain fill where the field
        # covers the whole surface (almost always: the playfield is ~10 views wide)
        field = field_points(self.field, zoom, trans, angle)
        if covers(field, surf.get_width(), surf.get_height()):
            surf.fill(self.bg_color)
        else:
            gfxdraw.aapolygon(surf, field, self.bg_color)
            gfxdraw.filled_polygon(surf, field, self.bg_color)
        x, y = self.vertices[..., 0], self.vertices[..., 1]
        px = (c * x - s * y) * zoom + trans[0]
        py = (s * x + c * y) * zoom + trans[1]
        m, w, h = cr.MAX_SHAPE_DIM * scale, cr.WINDOW_W * scale, cr.WINDOW_H * scale
        inside = ((px >= -m) & (px <= w + m) & (py >= -m) & (py <= h + m)).any(axis=1)
        visible = np.flatnonzero(inside)
        # every visible polygon's [x, y] pairs in one conversion (the same floats)
        polys = np.stack((px[visible], py[visible]), axis=-1).tolist()
        road, grass = self.env.road_poly, self._grass
        for i, poly in zip(visible.tolist(), polys):
            # (pygame truncates a float colour's channels, as int() does)
            color = self.env.grass_color if i < grass else road[i - grass][1]
            gfxdraw.aapolygon(surf, poly, color)
            gfxdraw.filled_polygon(surf, poly, color)
        return True


# pixels between the field's edge and the surface for a plain fill to equal the polygon's
# (gfxdraw rounds vertices to whole pixels; its anti-aliased edge is one pixel wide)
_FILL_MARGIN_PX = 4.0


def covers(poly: list[tuple[float, float]], width: int, height: int) -> bool:
    """Whether the convex polygon ``poly`` contains the whole ``width`` x ``height`` surface
    with a margin of ``_FILL_MARGIN_PX`` on every side.
    """
    corners = ((0.0, 0.0), (width, 0.0), (width, height), (0.0, height))
    area2 = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]))
    orientation = 1.0 if area2 > 0 else -1.0
    for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0.0:
            return False
        for cx, cy in corners:
            inward = orientation * ((x1 - x0) * (cy - y0) - (y1 - y0) * (cx - x0)) / length
            if inward < _FILL_MARGIN_PX:
                return False
    return True


def field_points(poly, zoom, trans, angle) -> list[tuple[float, float]]:
    """The vertices CarRacing's own unclipped polygon drawing puts on the surface."""
    pts = [pygame.math.Vector2(c).rotate_rad(angle) for c in poly]
    return [(p[0] * zoom + trans[0], p[1] * zoom + trans[1]) for p in pts]


def render_view(env: cr.CarRacing, layer: RoadLayer | None, scale: float = 1.0) -> None:
    """Draw the env's view into ``env.surf`` as its ``_render("state_pixels")`` does, minus
    the HUD and the 96x96 observation; ``layer`` None draws the road the env's way.

    ``scale`` < 1 draws the same view into a window that much smaller (same geometry,
    fewer pixels to fill, flip and scale down); 1 gives the env's pixels exactly.
    """
    w, h = round(cr.WINDOW_W * scale), round(cr.WINDOW_H * scale)
    env.surf = pygame.Surface((w, h))
    angle = -env.car.hull.angle
    zoom = 0.1 * cr.SCALE * max(1 - env.t, 0) + cr.ZOOM * cr.SCALE * min(env.t, 1)
    scroll_x = -(env.car.hull.position[0]) * zoom
    scroll_y = -(env.car.hull.position[1]) * zoom
    trans = pygame.math.Vector2((scroll_x, scroll_y)).rotate_rad(angle)
    trans = (cr.WINDOW_W / 2 + trans[0], cr.WINDOW_H / 4 + trans[1])
    if scale != 1.0:
        zoom, trans = zoom * scale, (trans[0] * scale, trans[1] * scale)
    if layer is None or not layer.draw(env.surf, zoom, trans, angle, scale):
        env._render_road(zoom, trans, angle)
    env.car.draw(env.surf, zoom, trans, angle, False)
    env.surf = pygame.transform.flip(env.surf, False, True)
