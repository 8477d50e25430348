"""The learner's workspace around the TD3 core, ROS-free.

workspace.py (Learner: replay buffer + TD3 agent + checkpoints), reception.py (what
arrived, was refused or was lost), intake.py (what a peer's message must satisfy before it
changes any state), schedules.py (update-to-data limiter,
weights and checkpoint schedules), metrics.py (what is measured and reported),
run_files.py (the run directory), config.py (the learner node's parameters).
"""
