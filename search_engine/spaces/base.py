"""The search-space interface: cube points <-> architectures, canonical points and keys.

A point of ``[0, 1]^n_vars`` decodes to exactly one architecture; every architecture has one
canonical point (``encode``). Two points that decode to the same architecture share a canonical
point and a key, so "same key" is what "same candidate" means everywhere in the engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from search_engine.component import Component
from search_engine.types import Architecture, Array


class SearchSpace(Component, ABC):
    """Abstract search space. Subclasses fill the ``_hooks``; public methods check shapes."""

    KIND: ClassVar[str] = "space"

    @property
    @abstractmethod
    def names(self) -> list[str]:
        """Variable names, in cube-column order."""

    @property
    def n_vars(self) -> int:
        """Number of variables (cube dimensions)."""
        return len(self.names)

    @property
    @abstractmethod
    def n_architectures(self) -> float:
        """How many distinct architectures exist (``inf`` when a variable is continuous)."""

    @abstractmethod
    def to_spec(self) -> dict[str, Any]:
        """``{"name": key, "params": {...}}`` that rebuilds this space through the registry."""

    def canonicalize(self, X: Array) -> Array:
        """``(n, n_vars)`` points -> the canonical points of the architectures they decode to."""
        return self._canonicalize(self._check_points(X))

    def decode(self, X: Array) -> list[dict[str, Any]]:
        """``(n, n_vars)`` points -> one architecture (variable name -> value) per row."""
        return self._decode(self._check_points(X))

    def encode(self, architectures: Sequence[Architecture]) -> Array:
        """Architectures -> ``(n, n_vars)`` canonical points.

        Raises:
            EncodeError: (a ValueError) naming the first variable, value and row that cannot be encoded.
        """
        X = self._encode(list(architectures))
        return X.reshape(len(architectures), self.n_vars)

    def keys(self, X: Array) -> list[str]:
        """Stable key of the architecture each row decodes to (equal keys = same architecture)."""
        return self._keys(self._canonicalize(self._check_points(X)))

    def key(self, architecture: Architecture) -> str:
        """Stable key of one architecture."""
        return self.keys(self.encode([architecture]))[0]

    def features(self, X: Array) -> Array:
        """``(n, n_features)`` numeric design values of the decoded architectures.

        This is what a table predictor learns from: the values a person writes in a CSV of
        measured architectures (a choice's value when numeric, its index otherwise).
        """
        return self._features(self._canonicalize(self._check_points(X)))

    @property
    def feature_names(self) -> list[str]:
        """Names of the ``features`` columns, in order, as a measured table's header names them.

        The variable names by default; a space whose features are not its variables' values (e.g.
        absolute widths derived from ratios) renames the columns that differ.
        """
        return self.names

    @property
    def known_quantity_units(self) -> dict[str, str]:
        """Quantities this space computes from an architecture alone (name -> unit); none by default.

        They are known before anything is measured, so a constraint on one of them can keep the
        optimizer from ever proposing an architecture that breaks it (see ``constraints.py``).
        """
        return {}

    def known_quantities(self, X: Array, setting: Mapping[str, Any] | None = None) -> dict[str, Array]:
        """Each of ``known_quantity_units`` for the architectures of ``X (n, n_vars)``, as ``(n,)`` arrays.

        Args:
            X: cube points.
            setting: the evaluator's parameters, for quantities that depend on how the architecture
                is built (the HyT-NAS network's task, resolution, classes and anchors); None: defaults.
        """
        if not self.known_quantity_units:
            return {}
        return self._known_quantities(self._canonicalize(self._check_points(X)), setting or {})

    def _known_quantities(self, X: Array, setting: Mapping[str, Any]) -> dict[str, Array]:
        """Spaces that declare ``known_quantity_units`` compute them here from canonical points."""
        raise NotImplementedError

    def sample_uniform(self, n: int, rng: np.random.Generator) -> Array:
        """``(n, n_vars)`` canonical points, each variable uniform over its choices (may repeat)."""
        return self._canonicalize(rng.random((n, self.n_vars)))

    def sample_unique(
        self, n: int, rng: np.random.Generator, exclude: Iterable[str] = (), max_rounds: int = 50
    ) -> Array:
        """Up to ``n`` distinct canonical points whose keys are not in ``exclude``.

        Draws uniformly in rounds; returns fewer rows only when the space runs out of new
        architectures (or ``max_rounds`` draws found nothing new).
        """
        seen = set(exclude)
        rows: list[Array] = []
        for _ in range(max_rounds):
            if len(rows) >= n:
                break
            draw = self.sample_uniform(max(2 * (n - len(rows)), 8), rng)
            for row, key in zip(draw, self._keys(draw), strict=True):
                if key not in seen and len(rows) < n:
                    seen.add(key)
                    rows.append(row)
        return np.array(rows, dtype=np.float64).reshape(len(rows), self.n_vars)

    def _check_points(self, X: Array) -> Array:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.n_vars:
            raise ValueError(f"expected points of shape (n, {self.n_vars}), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("points contain NaN or inf")
        return np.clip(X, 0.0, 1.0)

    @abstractmethod
    def _canonicalize(self, X: Array) -> Array: ...

    @abstractmethod
    def _decode(self, X: Array) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _encode(self, architectures: list[Architecture]) -> Array: ...

    @abstractmethod
    def _keys(self, X: Array) -> list[str]: ...

    @abstractmethod
    def _features(self, X: Array) -> Array: ...
