"""Benchmark problems with known Pareto fronts (ZDT, DTLZ)."""
