"""Greedy hypervolume-improvement selection: the batch that adds the most predicted hypervolume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from search_engine.metrics.hypervolume import greedy_hvi
from search_engine.metrics.pareto import pareto_front
from search_engine.selection.base import SelectionInput, Selector


@dataclass(frozen=True)
class HVISelector(Selector):
    """Picks, one at a time, the candidate whose predicted objectives add the most hypervolume.

    The front is the measured non-dominated set; each pick joins it for the next pick, so the batch
    spreads along the front instead of crowding one gap. Candidates that would add nothing fill
    the batch by non-dominated rank, then by distance to the improving region (see ``greedy_hvi``).
    Predicted means are read as objective values, hence ``needs_values``.
    """

    needs_values: ClassVar[bool] = True

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        ref = np.asarray(candidates.ref_point, dtype=np.float64)
        measured = np.asarray(candidates.Y_measured, dtype=np.float64).reshape(-1, ref.shape[0])
        front = pareto_front(measured)  # (k, n_objectives)
        picks, _ = greedy_hvi(candidates.mean, front, ref, batch_size)
        return picks
