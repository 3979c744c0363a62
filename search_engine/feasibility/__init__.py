"""Feasibility rules: how bounds known only after measuring steer the choice of a batch."""
