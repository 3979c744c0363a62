"""Random selection: a uniform draw without replacement, the baseline every strategy must beat."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from search_engine.selection.base import SelectionInput, Selector


@dataclass(frozen=True)
class RandomSelector(Selector):
    """Picks ``batch_size`` candidates uniformly at random, ignoring predictions."""

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        return rng.choice(candidates.X.shape[0], size=batch_size, replace=False).astype(np.int64)
