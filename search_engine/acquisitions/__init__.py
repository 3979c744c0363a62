"""Acquisition functions: turn predictions into values the solver minimises."""
