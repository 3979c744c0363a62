"""Multi-objective solvers for the surrogate problem (thin adapters over pymoo)."""
