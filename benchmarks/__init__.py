"""Benchmarks of the pipeline: training and sampling throughput, projections, end-to-end time.

Run them from the repository root as modules, e.g. `python -m benchmarks.train_throughput`.
"""
