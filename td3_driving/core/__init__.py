"""The ROS-free TD3 core: plain Python, numpy and torch. Never imports rclpy or *_msgs."""
