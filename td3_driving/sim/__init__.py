"""ROS-free simulator backends and the pure-pursuit reference driver.

``carracing``     gymnasium CarRacing-v3 as a ticked vehicle simulator (map frame, metres).
``pure_pursuit``  pure pursuit steering + speed PID on a path: the classical baseline.
``config``        frozen, documented configs of the sim bridge and the reference controller.
"""
