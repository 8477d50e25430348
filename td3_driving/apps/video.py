"""Render a recorded episode (a rosbag2 folder) as an MP4 or GIF.

    python -m td3_driving.apps.video runs/bags/episode_0000_track1000000 drive.mp4

The camera image enlarged, the route drawn on it, and a strip with time, speed, commands,
the critic's Q and the reward where the bag holds them (td3_driving.recording.video).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from td3_driving.recording.bag import BagError
from td3_driving.recording.video import bag_to_video


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bag", type=Path, help="a bag folder (with metadata.yaml)")
    p.add_argument("out", type=Path, help="the video file, .mp4 or .gif")
    p.add_argument("--role", default="ego_vehicle", help="the vehicle's role_name")
    p.add_argument("--scale", type=int, default=4, help="video pixels per camera pixel")
    ns = p.parse_args(argv)
    try:
        frames = bag_to_video(ns.bag, ns.out, ns.role, ns.scale)
    except (BagError, ValueError) as exc:
        print(f"video: {exc}", file=sys.stderr)
        return 2
    print(f"{ns.out}: {frames} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
