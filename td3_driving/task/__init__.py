"""The driving task, ROS-free: observations, reward, route, and the vehicle state they read."""
