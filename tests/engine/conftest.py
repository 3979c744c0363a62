"""Shared fixtures for engine tests: seeded generators and small, known data sets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

HYTNAS_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "hytnas"


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator with a fixed seed, fresh for every test."""
    return np.random.default_rng(12345)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for the test (restored afterwards): steady timings on a shared machine."""
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def hytnas_data_dir() -> Path:
    """The measured HyT-NAS tables beside the checkout; tests using them skip when absent."""
    if not (HYTNAS_DATA / "models_acc_pr.csv").is_file():
        pytest.skip("HyT-NAS tables not found at ../shared/data/hytnas")
    return HYTNAS_DATA


def zdt1(X: np.ndarray) -> np.ndarray:
    """ZDT1 written out by hand (independent of pymoo), ``(n, d) -> (n, 2)``."""
    f1 = X[:, 0]
    g = 1.0 + 9.0 * X[:, 1:].sum(axis=1) / (X.shape[1] - 1)
    return np.column_stack([f1, g * (1.0 - np.sqrt(f1 / g))])


@pytest.fixture
def zdt1_data(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """40 random points of a 4-variable ZDT1: ``X (40, 4)``, ``Y (40, 2)``."""
    X = rng.random((40, 4))
    return X, zdt1(X)
