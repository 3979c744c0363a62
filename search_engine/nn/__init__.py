"""PyTorch networks built from search-space architectures (imports torch; the registry never imports it)."""
