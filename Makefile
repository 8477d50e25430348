# td3_driving: the two commands a newcomer needs are `make train` and `make test`.
# Both set up whatever is missing first (tools/setup.sh is idempotent and fast when done).

SHELL := /bin/bash
ENV := ./env.sh
VENV_PY := ./.venv/bin/python
PYTEST_ARGS ?=

.PHONY: help setup venv train drive check test test-slow lint typecheck clean benchmarks-doc \
	bench-learning bench-learning-ablation bench-learning-camera-long bench-learning-gpu

SEEDS ?= 0 1 2

help:
	@echo "make train      train TD3 on the embedded simulator (sets up first)"
	@echo "make test       lint + type check + all default tests (sets up first)"
	@echo "make check      the fast loop: lint + type check + the ROS-free tests, no colcon build"
	@echo "make drive POLICY=<file>  drive with a trained policy artifact, no learner"
	@echo "make test-slow  the opt-in long tests"
	@echo "make setup      create .venv and build the ROS 2 package (idempotent)"
	@echo "make lint       ruff (pyflakes, pycodestyle, pep257 docstrings, imports)"
	@echo "make typecheck  mypy over the ROS-free core (mypy.ini)"
	@echo "make benchmarks-doc  regenerate docs/benchmarks.md + plots from the JSON records"
	@echo "make bench-learning SEEDS='0 1 2'  the learning rows (hours on 2 cores; see docs)"
	@echo "make bench-learning-ablation  the observation presets x seeds, SB3 TD3, baselines"
	@echo "make bench-learning-camera-long  one sitting of the long camera run (resumes)"
	@echo "make bench-learning-gpu  the long camera run on a GPU host, ROS-free"
	@echo "make clean      remove build/, install/, log/ (keeps .venv and runs/)"

setup:
	@tools/setup.sh

venv:
	@tools/setup.sh --venv-only

train: setup
	@$(ENV) python -m td3_driving.apps.cli train $(TRAIN_ARGS)

drive: setup
	@test -n "$(POLICY)" || { echo "usage: make drive POLICY=runs/<run>/policy.safetensors"; exit 2; }
	@$(ENV) python -m td3_driving.apps.cli drive --policy "$(POLICY)" $(DRIVE_ARGS)

lint: venv
	@$(VENV_PY) -m ruff check .

typecheck: venv
	@$(VENV_PY) -m mypy

# ROS-free tests only: the plain venv, no colcon build and no ./env.sh; tests that need the
# built messages skip themselves (importorskip), the ROS-free core must not need them.
check: lint typecheck
	@OMP_NUM_THREADS=1 $(VENV_PY) -m pytest test/unit test/learning $(PYTEST_ARGS)

test: setup lint typecheck
	@$(ENV) python -m pytest $(PYTEST_ARGS)

test-slow: setup
	@$(ENV) python -m pytest -m slow $(PYTEST_ARGS)

clean:
	rm -rf build install log

benchmarks-doc: setup
	@$(ENV) python -m benchmarks.make_benchmarks_doc

# Each run writes docs/benchmarks/results/learning-<row>-s<seed>.json; about 30-60 min per
# run on 2 cores (docs/benchmarks.md lists the measured times).
bench-learning: setup
	@for s in $(SEEDS); do \
	  $(ENV) python -m benchmarks.learning_smoke --frames 100000 --minutes 120 --seed $$s \
	    --encoder_mode shared --no_random --record --run_dir runs/bench/ros-shared-s$$s || exit 1; \
	  for row in td3 sb3-td3 sb3-sac; do \
	    $(ENV) python -m benchmarks.learning --row $$row --seed $$s || exit 1; done; \
	done
	@$(ENV) python -m benchmarks.learning_smoke --frames 100000 --minutes 120 --seed 0 \
	  --encoder_mode separate --no_random --record --run_dir runs/bench/ros-separate-s0

# The ablation of the observation presets at 100k frames through the ROS stack (default
# preset x 5 seeds, the others x 3), SB3 TD3 on the default preset x 3 seeds and our core
# in-process per preset (seed 0) as baselines, then the reference and random rows: every
# record holds per-seed scores over 100 tracks and 10-track evaluations every 10k frames
# (frames and minutes to 900). About 40 min per ROS run on 2 cores: ~11 h in all. A run
# that fails is listed in runs/bench/failures.txt and the others go on.
DEFAULT_PRESET = $(shell $(ENV) python -c 'from td3_driving.task.driving import DEFAULT_PRESET as p; print(p)')
OTHER_PRESETS = $(filter-out $(DEFAULT_PRESET),route camera state)
DEFAULT_SEEDS ?= 0 1 2 3 4
OTHER_SEEDS ?= 0 1 2
ROS_RUN = $(ENV) python -m benchmarks.learning_smoke --frames 100000 --minutes 120 --no_random \
	--record --eval_every_frames 10000 --episodes 100
bench-learning-ablation: setup
	@mkdir -p runs/bench
	@for s in $(DEFAULT_SEEDS); do \
	  $(ROS_RUN) --preset $(DEFAULT_PRESET) --seed $$s --run_dir runs/bench/ros-$(DEFAULT_PRESET)-s$$s \
	    || echo "ros-$(DEFAULT_PRESET)-s$$s failed" >> runs/bench/failures.txt; done
	@for p in $(OTHER_PRESETS); do for s in $(OTHER_SEEDS); do \
	  $(ROS_RUN) --preset $$p --seed $$s --run_dir runs/bench/ros-$$p-s$$s \
	    || echo "ros-$$p-s$$s failed" >> runs/bench/failures.txt; done; done
	@for s in $(OTHER_SEEDS); do \
	  $(ENV) python -m benchmarks.learning --row sb3-td3 --seed $$s --preset $(DEFAULT_PRESET) \
	    || echo "sb3-td3-s$$s failed" >> runs/bench/failures.txt; done
	@for p in route camera state; do \
	  $(ENV) python -m benchmarks.learning --row td3 --seed 0 --preset $$p \
	    || echo "td3-$$p-s0 failed" >> runs/bench/failures.txt; done
	@$(ENV) python -m benchmarks.reference_score --headline \
	  --out docs/benchmarks/results/learning-reference.json
	@$(ENV) python -m td3_driving.apps.evaluate --random --headline \
	  --json docs/benchmarks/results/learning-random.json
	@$(ENV) python -m benchmarks.make_benchmarks_doc

# The camera preset's long run, one sitting at a time (MINUTES of training each): the
# first sitting starts it, every later one resumes it from its newest checkpoint and replay
# buffer, until FRAMES are reached; each sitting rewrites its record.
LONG_FRAMES ?= 300000
MINUTES ?= 120
LONG_RUN_DIR = runs/bench/ros-camera-s0-long
bench-learning-camera-long: setup
	@if [ -d $(LONG_RUN_DIR)/checkpoints ]; then how=--resume; else how=--resumable; fi; \
	$(ENV) python -m benchmarks.learning_smoke --preset camera --seed 0 --frames $(LONG_FRAMES) \
	  --minutes $(MINUTES) --no_random --record --eval_every_frames 25000 --episodes 100 \
	  --run_dir $(LONG_RUN_DIR) $$how

# The long camera run on a lent GPU host (Python 3.12, torch, no ROS, no registry): fetch
# the wheels it lacks into wheels-gpu/ here, then run benchmarks/gpu_long_run.sh there with
# wheels-gpu carried along, and score the run dir it returns with
# benchmarks/learning_gpu.py (docs/benchmarks.md names both commands).
bench-learning-gpu: setup
	@tools/gpu_wheels.sh
	@echo "on the GPU host, from the repository root (carry wheels-gpu):"
	@echo "  OUT=\$$OUT FRAMES=1000000 MINUTES=9 NUM_ENVS=14 bash benchmarks/gpu_long_run.sh"
	@echo "then here: ./env.sh python -m benchmarks.learning_gpu --run_dir <OUT>/run --gpu '<GPU name>'"
