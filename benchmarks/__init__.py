"""Benchmarks: throughput ratios against a baseline measured in the same process."""
