"""Recordings, videos and plots of what the car did (ROS-free: rosbags, PyAV, matplotlib).

bag.py writes and reads ROS 2 MCAP bags (rosbag2 layout, metadata.yaml) from serialized
messages; overlay.py draws the route and a status strip onto camera images; video.py turns a
recorded episode into an MP4 or GIF; critic.py evaluates a run's critic on the actions taken;
plots.py draws learning curves of run directories.
"""
