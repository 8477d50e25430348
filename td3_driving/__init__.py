"""td3_driving: end-to-end TD3 driving from camera images over ROS 2.

Layout (docs/architecture.md has the picture and one line per file):
  td3_driving.core     ROS-free TD3: config, networks, update, replay, checkpoints, policy.
  td3_driving.task     ROS-free driving task: observation, reward, route, geometry.
  td3_driving.sim      ROS-free simulator backends (CarRacing-v3) and the pure-pursuit driver.
  td3_driving.ros      ROS adapters: parameters, QoS profiles, message conversions, listener.
  td3_driving.nodes    Node executables (sim_bridge, agent, learner, reference_controller).
  td3_driving.bringup  The stack description and its renderers (launcher, launch files).
  td3_driving.apps     Entry points: the train/drive CLI, evaluation, the in-process trainer.
  td3_driving.msg      Generated messages (present after `colcon build`).
"""

# The generated messages (td3_driving.msg) live in the colcon install tree while the Python
# sources may be imported from the source tree; let both halves form one package.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
