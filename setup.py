"""pip install of the ROS-free part of td3_driving: the TD3 core and its offline tools.

    pip install .            # core + in-process trainer (torch==2.13.0, gymnasium, ...)

This does NOT build the ROS 2 package: the nodes, messages and launch files are built with
colcon (ament_cmake; colcon ignores this file). See README.md, "Which install does what".
"""

from setuptools import setup

setup(
    name="td3-driving-core",
    version="0.1.0",
    description="ROS-free pixel TD3 core of td3_driving: networks, update, replay, "
                "observations, policy artifacts, and an in-process gymnasium trainer.",
    license="MIT",
    python_requires="==3.11.*",
    packages=["td3_driving", "td3_driving.core", "td3_driving.sim"],
    package_data={"td3_driving": ["py.typed"]},
    install_requires=[
        # Exact pin: an open torch range pulls several GB of CUDA wheels (DESIGN.md §5).
        "torch==2.13.0",
        "numpy>=1.26,<3",
        "gymnasium[box2d]>=1.3,<2",
        "pyyaml>=6",
        "tensorboard>=2.16",
        "safetensors>=0.4",
    ],
    entry_points={
        "console_scripts": [
            "td3-train-gym = td3_driving.apps.gym_trainer:main",
        ],
    },
)
