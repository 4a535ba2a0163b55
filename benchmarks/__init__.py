"""Benchmark suites and model builders (run with `pytest benchmarks -s`)."""
