"""Batch selection: which candidates of the solver's population get evaluated."""
