"""The route as a polyline: arc length, projection, heading and curvature (ROS-free).

Pure geometry on a polyline of waypoints (map frame, metres, REP-103: x forward/east,
y left/north, yaw counter-clockwise from x). The one route geometry of the package: the
agent projects the vehicle onto its segments for the vehicle vector and the reward
(``pose``, ``progress``, ``curvature_ahead``); the pure-pursuit driver works on its
vertices (``nearest_vertex``, ``vertex_ahead``, ``vertex_curvature``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from td3_driving.task.geometry import wrap_angle


@dataclass(frozen=True)
class RoutePose:
    """The vehicle's pose relative to the route."""

    s: float               # arc length of the closest point, metres from the route start
    lateral: float         # signed offset from the centerline, metres, + = left of route
    heading_error: float   # vehicle yaw minus route direction, radians in [-pi, pi)
    index: int             # index of the route segment the point lies on


class Route:
    """A polyline route; closed when its ends meet (a race track lap).

    ``points`` repeats a loop's first point at its end; ``vertices`` holds each point once.
    """

    def __init__(self, points: np.ndarray, closed: bool | None = None):
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"route points must have shape [N, 2], got {pts.shape}")
        if len(pts) < 2:
            raise ValueError(f"a route needs at least 2 points, got {len(pts)}")
        if not np.isfinite(pts).all():
            raise ValueError("route points contain NaN or Inf")
        seg = np.diff(pts, axis=0)
        keep = np.concatenate([[True], np.hypot(seg[:, 0], seg[:, 1]) > 1e-9])
        pts = pts[keep]
        if len(pts) < 2:
            raise ValueError("a route needs at least 2 distinct points")
        if closed is None:
            spacing = np.median(np.hypot(*np.diff(pts, axis=0).T))
            closed = len(pts) > 3 and np.hypot(*(pts[-1] - pts[0])) < 3 * spacing
        if closed and np.hypot(*(pts[-1] - pts[0])) > 1e-9:
            pts = np.vstack([pts, pts[:1]])
        self.points = pts
        self.closed = bool(closed)
        self._seg = np.diff(pts, axis=0)
        self._seg_len = np.hypot(self._seg[:, 0], self._seg[:, 1])
        self._cum = np.concatenate([[0.0], np.cumsum(self._seg_len)])
        self._heading = np.arctan2(self._seg[:, 1], self._seg[:, 0])
        self.length = float(self._cum[-1])
        self.vertices = pts[:-1] if self.closed else pts
        self.spacing = self.length / len(self._seg)   # mean distance between vertices
        # Segment starts and headings for looking ahead; a loop is unrolled twice once here
        # rather than on every curvature_ahead call (the agent asks twice per frame).
        if self.closed:
            self._ahead_cum = np.concatenate([self._cum[:-1], self._cum[:-1] + self.length])
            self._ahead_heading = np.concatenate([self._heading, self._heading])
        else:
            self._ahead_cum, self._ahead_heading = self._cum[:-1], self._heading

    def project(self, x: float, y: float, hint: int | None = None,
                window: int = 40) -> RoutePose:
        """Closest point of the route to (x, y); ``hint`` limits the search near a segment.

        The hint keeps the projection on the current part of the track where the track
        passes close to itself.
        """
        n = len(self._seg)
        if hint is None or window * 2 + 1 >= n:
            idx = np.arange(n)
        else:
            idx = np.arange(hint - window, hint + window + 1)
            idx = idx % n if self.closed else idx[(idx >= 0) & (idx < n)]
        a = self.points[idx]
        d = self._seg[idx]
        t = ((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / self._seg_len[idx] ** 2
        t = np.clip(t, 0.0, 1.0)
        px, py = a[:, 0] + t * d[:, 0], a[:, 1] + t * d[:, 1]
        k = int(np.argmin((px - x) ** 2 + (py - y) ** 2))
        i = int(idx[k])
        # Cross product sign: positive when the point is left of the segment direction.
        cross = d[k, 0] * (y - a[k, 1]) - d[k, 1] * (x - a[k, 0])
        lateral = float(np.copysign(np.hypot(px[k] - x, py[k] - y), cross))
        s = float(self._cum[i] + t[k] * self._seg_len[i])
        return RoutePose(s=s, lateral=lateral, heading_error=0.0, index=i)

    def pose(self, x: float, y: float, yaw: float, hint: int | None = None) -> RoutePose:
        """Projection plus heading error of a vehicle with yaw ``yaw`` (radians)."""
        p = self.project(x, y, hint)
        err = float(wrap_angle(yaw - self._heading[p.index]))
        return RoutePose(s=p.s, lateral=p.lateral, heading_error=err, index=p.index)

    def progress(self, s_from: float, s_to: float) -> float:
        """Signed metres travelled along the route from s_from to s_to (wraps on loops)."""
        ds = s_to - s_from
        if self.closed:
            ds = (ds + self.length / 2) % self.length - self.length / 2
        return float(ds)

    def curvature_ahead(self, index: int, distance: float) -> float:
        """Mean signed curvature (1/m, + = turning left) over ``distance`` metres ahead."""
        start = self._cum[index]
        end = start + distance
        cum, heading, first = self._ahead_cum, self._ahead_heading, index
        if not self.closed:
            end = min(end, self.length)
        last = int(np.searchsorted(cum, end, side="right")) - 1
        last = max(last, first)
        if end - start <= 1e-9:
            return 0.0
        turn = float(np.sum(wrap_angle(np.diff(heading[first:last + 1])))) if last > first \
            else 0.0
        return turn / (end - start)

    def resampled(self, spacing: float) -> np.ndarray:
        """Points about ``spacing`` metres apart along the route: (M, 3) x, y, yaw.

        The first is the route's first point and yaw is the direction to the next one; a
        loop's closing point is not repeated (its last yaw points to the first), an open
        route's last point keeps the yaw before it.
        """
        if not spacing > 0:
            raise ValueError(f"resampling spacing must be > 0 metres, got {spacing}")
        if self.closed:
            m = max(3, int(round(self.length / spacing)))
            s = np.arange(m) * (self.length / m)
        else:
            s = np.linspace(0.0, self.length, max(1, int(round(self.length / spacing))) + 1)
        xy = np.stack([np.interp(s, self._cum, self.points[:, 0]),
                       np.interp(s, self._cum, self.points[:, 1])], axis=1)
        if self.closed:
            d = np.roll(xy, -1, axis=0) - xy
        else:
            d = np.diff(xy, axis=0)
            d = np.vstack([d, d[-1:]])
        return np.column_stack([xy, np.arctan2(d[:, 1], d[:, 0])])

    # --- vertices (the pure-pursuit driver) -----------------------------------------------
    def vertex_index(self, j: int | np.ndarray) -> np.ndarray:
        """Vertex index ``j`` wrapped around a loop, or clamped to the ends of an open route."""
        n = len(self.vertices)
        return np.asarray(j) % n if self.closed else np.clip(j, 0, n - 1)

    def nearest_vertex(self, x: float, y: float, hint: int | None = None, behind: int = 20,
                       ahead: int = 80, trust_m: float = 15.0) -> tuple[int, float]:
        """Index of the vertex nearest to (x, y) and its distance in metres.

        With ``hint`` (the previous answer) the search covers ``behind`` vertices before it
        and ``ahead`` after it, and is trusted when it finds one within ``trust_m``; else
        all vertices are searched. Like ``project``'s hint, this keeps a vehicle on its part
        of a track that passes close to itself.
        """
        xy, n = self.vertices, len(self.vertices)
        if hint is not None:
            cand = np.arange(hint - behind, hint + ahead)
            cand = cand % n if self.closed else cand[(cand >= 0) & (cand < n)]
            d = np.hypot(xy[cand, 0] - x, xy[cand, 1] - y)
            k = int(np.argmin(d))
            if d[k] < trust_m:
                return int(cand[k]), float(d[k])
        d = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
        i = int(np.argmin(d))
        return i, float(d[i])

    def vertex_ahead(self, i: int, distance: float) -> int:
        """Index of the vertex about ``distance`` metres along the route after vertex ``i``."""
        return int(self.vertex_index(i + int(round(distance / self.spacing))))

    def vertex_curvature(self, window_m: float = 3.0) -> np.ndarray:
        """Signed curvature (1/m, + = turning left) at each vertex, over +-``window_m``."""
        n = len(self.vertices)
        # The heading leaving each vertex; an open route's last vertex keeps the last one.
        heading = self._heading if self.closed else np.append(self._heading, self._heading[-1])
        w = max(1, int(round(window_m / self.spacing)))
        idx = np.arange(n)
        lo, hi = self.vertex_index(idx - w), self.vertex_index(idx + w)
        dpsi = wrap_angle(heading[hi] - heading[lo])
        ds = np.maximum((hi - lo) % n if self.closed else hi - lo, 1) * self.spacing
        return dpsi / ds
