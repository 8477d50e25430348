"""Benchmarks: scripts that measure and print numbers (never tests). Run from the repository
root as modules, e.g. `./env.sh python -m benchmarks.learner_throughput`; each writes its
record under docs/benchmarks/results/, which benchmarks.make_benchmarks_doc renders.
"""
