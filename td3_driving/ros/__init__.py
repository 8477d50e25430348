"""ROS 2 adapters: parameters, QoS profiles, message conversions. Thin; no learning logic."""
