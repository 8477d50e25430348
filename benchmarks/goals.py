"""The goals the benchmarks measure against, in one place (docs/benchmarks.md shows each
verdict; the scripts copy the threshold into their record next to the measured figure).
"""

# Learning (benchmarks.doc_learning, from the learning records; 100k frames unless said
# otherwise)
SCORE = 900.0                   # every seed of the default preset; also "a lap" for time-to
SEEDS_DEFAULT = 5               # training seeds of the default preset
SEEDS_OTHER = 3                 # of the other presets and of SB3 TD3
CAMERA_100K = 600.0             # the camera preset at 100k frames
CAMERA_LONG = 900.0             # the camera preset at the longest budget run
LEARNER_SPEEDUP = 1.3           # learner updates/s vs. stable-baselines3 TD3, same batch

# Transport and scaling (benchmarks.transport)
REPLAY_BYTES_PER_TRANSITION = 7500   # serialized replay message bytes per agent step
AGENT_SCALING_4_VS_1 = 3.0           # env steps/s of 4 agents vs. 1

# ROS overhead (benchmarks.ros_overhead): 1 - ROS stack steps/s / in-process steps/s
ROS_OVERHEAD_MAX = 0.20

# Simulator (benchmarks.sim_speed): lockstep ticks/s through ROS vs. CarRacing-v3 direct
SIM_ROS_VS_DIRECT = 0.8

# CPU per step (benchmarks.agent_step, benchmarks.sim_tick_cpu), milliseconds of CPU time
AGENT_CPU_MS_PER_STEP = 5.0     # the agent node, acting with warm-up actions (no inference)
SIM_CPU_MS_PER_TICK = 5.0       # sim_bridge in lockstep

# A training run's cost (benchmarks.doc_cost, from the learning records' "cost"): the
# default config's 100k frames through the ROS stack on a quiet machine
RUN_MINUTES_100K = 8.5          # wall time per 100k frames
LEARNER_IN_STACK = 0.90         # the learner's updates/s in the stack vs. alone
QUIET_OTHER_CORES = 0.25        # the most CPU other processes may use for "quiet"
