"""Helpers shared by the tests, importable as ``support.*`` (test/ is on sys.path: pytest
puts the folder of the root conftest.py there).

``learner``       a tiny learner configuration and a producer of experience batches.
``graph``         a private rclpy context + executor per test (the ``graph`` fixture).
``learner_node``  the learner node in a test graph and a fake agent that talks to it.
``fake_bridge``   a scripted carla-ros-bridge for one vehicle, for agent node tests.
"""
