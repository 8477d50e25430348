"""td3_driving: end-to-end TD3 driving from camera images over ROS 2.

Layout:
  td3_driving.core   ROS-free TD3: config, networks, update, replay, reward, observations.
  td3_driving.sim    ROS-free simulator backends (CarRacing-v3) and the pure-pursuit driver.
  td3_driving.ros    ROS adapters: parameters, QoS profiles, message conversions.
  td3_driving.nodes  Node executables (sim_bridge, agent, learner, reference_controller).
  td3_driving.msg    Generated messages (present after `colcon build`).
"""

# The generated messages (td3_driving.msg) live in the colcon install tree while the Python
# sources may be imported from the source tree; let both halves form one package.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
