"""Test-wide isolation: every pytest session gets its own ROS 2 domain on localhost.

Concurrent test runs on one machine (CI, developers, helpers) must not see each other's
topics, so the domain id is derived from the process id before anything imports rclpy.
"""

import os

os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
# Tests never need more than one torch thread; 2 cores are shared with other processes.
os.environ.setdefault("OMP_NUM_THREADS", "1")
