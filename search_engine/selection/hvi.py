"""Greedy hypervolume-improvement selection: the batch that adds the most predicted hypervolume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from search_engine.metrics.hypervolume import greedy_hvi
from search_engine.metrics.pareto import pareto_front
from search_engine.params import param
from search_engine.selection.base import SelectionInput, Selector
from search_engine.types import Array


@dataclass(frozen=True)
class HVISelector(Selector):
    """Picks, one at a time, the candidate whose predicted objectives add the most hypervolume.

    The front is the measured non-dominated set; each pick joins it for the next pick, so the batch
    spreads along the front instead of crowding one gap. Candidates that would add nothing fill
    the batch by non-dominated rank, then by distance to the improving region (see ``greedy_hvi``).
    Predicted means are read as objective values, hence ``needs_values``.

    ``beyond_best_std`` guards the ends of the front against a surrogate's overshoot. A Gaussian
    process extrapolating past the edge of its data predicts values below any measured one (below 0
    where an objective cannot be negative), and a prediction past an objective's best measured value
    extends the front towards the reference point, so hypervolume improvement credits the overshoot
    times the whole distance to the reference point in the other objectives. It then proposes, batch
    after batch, points on that edge chosen for the overshoot, far from the front in the other
    objectives. With
    ``beyond_best_std = k > 0`` the part of a prediction past the best measured value counts only as
    far as its mean plus ``k`` standard deviations: an improvement the surrogate is sure of still
    counts, an overshoot within its uncertainty does not. Without a std (or with ``k = 0``) the means
    are read as they are; a non-finite std counts as unsure.
    """

    needs_values: ClassVar[bool] = True

    beyond_best_std: float = param(
        0.0,
        "Standard deviations a prediction past an objective's best measured value must clear to count "
        "(0: predicted means as they are).",
        low=0.0,
        high=100.0,
    )

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        ref = np.asarray(candidates.ref_point, dtype=np.float64)
        measured = np.asarray(candidates.Y_measured, dtype=np.float64).reshape(-1, ref.shape[0])
        front = pareto_front(measured)  # (k, n_objectives)
        picks, _ = greedy_hvi(self._credited(candidates, measured), front, ref, batch_size)
        return picks

    def _credited(self, candidates: SelectionInput, measured: Array) -> Array:
        """``(n_candidates, n_objectives)`` the values hypervolume improvement reads for the candidates."""
        mean = np.asarray(candidates.mean, dtype=np.float64)
        if self.beyond_best_std == 0.0 or candidates.std is None or measured.shape[0] == 0:
            return mean
        best = measured.min(axis=0)  # (n_objectives,)
        std = np.nan_to_num(np.asarray(candidates.std, dtype=np.float64).reshape(mean.shape), nan=np.inf)
        sure = np.minimum(best, mean + self.beyond_best_std * std)
        return np.where(mean < best, sure, mean)
