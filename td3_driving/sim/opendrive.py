"""An OpenDRIVE 1.4 description of a CarRacing track (ROS-free), for /carla/world_info.

The track becomes one closed road (its own predecessor and successor) whose reference line
is the centre line, as straight ``line`` geometries between consecutive waypoints, with one
driving lane on each side of the centre line, each half the road's width. Coordinates are
``map`` metres, headings radians, as OpenDRIVE's inertial frame (x east, y north, CCW).
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

import numpy as np


def track_opendrive(name: str, centerline: np.ndarray, road_width: float) -> str:
    """OpenDRIVE XML for a closed track; ``centerline`` is (N, 2) in driving order."""
    pts = np.asarray(centerline, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise ValueError(f"centerline needs at least 3 (x, y) points, got shape {pts.shape}")
    if not road_width > 0:
        raise ValueError(f"road_width must be positive, got {road_width}")
    closed = np.vstack([pts, pts[:1]])
    d = np.diff(closed, axis=0)
    lengths = np.hypot(d[:, 0], d[:, 1])
    keep = lengths > 1e-9
    starts, d, lengths = closed[:-1][keep], d[keep], lengths[keep]
    heading = np.arctan2(d[:, 1], d[:, 0])
    s = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    total = float(lengths.sum())
    geometry = "\n".join(
        f'      <geometry s="{si:.4f}" x="{x:.4f}" y="{y:.4f}" hdg="{h:.6f}" '
        f'length="{ln:.4f}"><line/></geometry>'
        for si, (x, y), h, ln in zip(s, starts, heading, lengths))
    half = road_width / 2
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    lane = ('          <lane id="{id}" type="driving" level="false"><link/>'
            f'<width sOffset="0" a="{half:.4f}" b="0" c="0" d="0"/>'
            '<roadMark sOffset="0" type="{mark}" weight="standard" color="standard" '
            'width="0.15"/></lane>')
    return f"""<?xml version="1.0" standalone="yes"?>
<OpenDRIVE>
  <header revMajor="1" revMinor="4" name={quoteattr(name)} version="1.00"
          north="{hi[1]:.4f}" south="{lo[1]:.4f}" east="{hi[0]:.4f}" west="{lo[0]:.4f}"
          vendor="td3_driving"/>
  <road name={quoteattr(name)} length="{total:.4f}" id="0" junction="-1">
    <link><predecessor elementType="road" elementId="0" contactPoint="end"/>
          <successor elementType="road" elementId="0" contactPoint="start"/></link>
    <type s="0" type="town"/>
    <planView>
{geometry}
    </planView>
    <elevationProfile/>
    <lateralProfile/>
    <lanes>
      <laneSection s="0">
        <left>
{lane.format(id=1, mark="solid")}
        </left>
        <center>
          <lane id="0" type="none" level="false"><link/>
            <roadMark sOffset="0" type="broken" weight="standard" color="standard"
                      width="0.15"/></lane>
        </center>
        <right>
{lane.format(id=-1, mark="solid")}
        </right>
      </laneSection>
    </lanes>
  </road>
</OpenDRIVE>
"""

