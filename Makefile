# td3_driving: the two commands a newcomer needs are `make train` and `make test`.
# Both set up whatever is missing first (tools/setup.sh is idempotent and fast when done).

SHELL := /bin/bash
ENV := ./env.sh
VENV_PY := ./.venv/bin/python
PYTEST_ARGS ?=

.PHONY: help setup venv train drive check test test-slow lint typecheck clean benchmarks-doc \
	bench-learning

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
