"""pip install of the ROS-free part of td3_driving: the TD3 core and its offline tools.

    pip install .            # core + in-process trainer (torch==2.13.0, gymnasium, ...)

This does NOT build the ROS 2 package: the nodes, messages and launch files are built with
colcon (ament_cmake; colcon ignores this file). See README.md, "Which install does what".
"""

from setuptools import find_packages, setup

# Only what imports without ROS: the TD3 core, the driving task, the learner workspace, the
# simulator backends and the in-process trainer. test/unit/test_wheel.py installs the wheel
# into a clean venv and imports every module in it.
ROS_FREE_PACKAGES = ["td3_driving", "td3_driving.core", "td3_driving.task",
                     "td3_driving.learner", "td3_driving.sim"]
ROS_FREE_APPS = ["td3_driving.apps.config", "td3_driving.apps.gym_tasks",
                 "td3_driving.apps.gym_trainer", "td3_driving.apps.parallel_trainer"]

setup(
    name="td3-driving-core",
    version="0.1.0",
    description="ROS-free pixel TD3 core of td3_driving: networks, update, replay, "
                "observations, policy artifacts, and an in-process gymnasium trainer.",
    license="MIT",
    python_requires="==3.11.*",
    # find_packages: td3_driving.learner is listed before it exists on every branch
    packages=find_packages(include=ROS_FREE_PACKAGES),
    # the ROS-free entry points of td3_driving.apps (its __init__.py comes with them)
    py_modules=ROS_FREE_APPS,
    package_data={"td3_driving": ["py.typed"]},
    install_requires=[
        # Exact pin: an open torch range pulls several GB of CUDA wheels (README.md).
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
