"""Surrogate models: predict objective values (or an ordering) of unmeasured architectures."""
