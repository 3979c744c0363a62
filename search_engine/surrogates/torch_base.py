"""What the torch surrogates share: a fixed thread count around fit and predict, centred inputs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from search_engine.surrogates.base import PerObjectiveSurrogate
from search_engine.types import Array

if TYPE_CHECKING:
    import torch


@contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Run torch on ``n_threads`` intra-op threads, restoring the previous setting afterwards.

    These networks are small: a single thread is about as fast as two on a quiet machine and
    several times faster when other processes compete for the cores (idle torch threads spin).
    A fixed count also keeps results identical across workers with different core counts.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def cube_inputs(X: Array) -> torch.Tensor:
    """Cube points centred to [-1, 1], float32."""
    import torch

    return torch.as_tensor(2.0 * X - 1.0, dtype=torch.float32)


class TorchSurrogate(PerObjectiveSurrogate):
    """A per-objective surrogate whose models are torch networks run on ``self.n_threads`` threads."""

    n_threads: int = 1

    def _fit(self, X: Array, Y: Array, rng: np.random.Generator) -> None:
        with torch_threads(self.n_threads):
            super()._fit(X, Y, rng)

    def _predict(self, X: Array) -> tuple[Array, Array | None]:
        with torch_threads(self.n_threads):
            return super()._predict(X)
