"""Benchmark suites: each has run(ctx) -> list[Figure]."""
