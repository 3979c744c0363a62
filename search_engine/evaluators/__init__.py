"""Evaluators: turn architectures into measured objective values."""
