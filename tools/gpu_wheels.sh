#!/usr/bin/env bash
# The wheels a GPU host without ROS and without a package registry lacks for the ROS-free
# trainer (td3_driving.apps.parallel_trainer): CPython 3.12, manylinux x86_64, the versions of
# this project's .venv. torch comes with the host (2.11 there; the core needs no newer).
# Writes wheels-gpu/ (about 33 MB, git-ignored), which benchmarks/gpu_long_run.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${PIP:-.venv/bin/pip}
mkdir -p wheels-gpu
"$PIP" download --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 -d wheels-gpu \
  "gymnasium==1.4.0" "Box2D==2.3.10" "pygame-ce==2.5.8" "numpy==2.4.6" "PyYAML==6.0.4" \
  "safetensors==0.8.0" "cloudpickle==3.1.3" "Farama-Notifications==0.0.6" \
  "typing_extensions==4.16.0"
du -sh wheels-gpu
