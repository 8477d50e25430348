"""Where the vehicle is relative to its route: arc length, lateral offset, heading error.

Pure geometry on a polyline of waypoints (map frame, metres, REP-103: x forward/east,
y left/north, yaw counter-clockwise from x). Used by the agent to build the vehicle vector
and the reward; knows nothing about ROS.
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
    """A polyline route; closed when its ends meet (a race track lap)."""

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
