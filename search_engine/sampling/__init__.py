"""Initial samplers: how the first architectures of a study are chosen."""
