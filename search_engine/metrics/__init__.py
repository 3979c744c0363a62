"""Multi-objective metrics: Pareto sorting, hypervolume, IGD, surrogate fidelity."""
