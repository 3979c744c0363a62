"""Uncertainty selection: the candidates the surrogate is least sure about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from search_engine.selection.base import SelectionInput, Selector


@dataclass(frozen=True)
class UncertaintySelector(Selector):
    """Picks the largest predicted std, summed over objectives.

    Objectives come in different units (accuracy in percent, latency in ms), so each objective's
    std is divided by that objective's spread — the range of its measured values and predicted
    means together — before summing. An objective with no spread is divided by 1. Ties go to the
    lower index.
    """

    needs_std: ClassVar[bool] = True

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        assert candidates.std is not None  # guaranteed by Selector.select
        mean = np.asarray(candidates.mean, dtype=np.float64)  # (n_candidates, n_objectives)
        std = np.asarray(candidates.std, dtype=np.float64).reshape(mean.shape)
        measured = np.asarray(candidates.Y_measured, dtype=np.float64).reshape(-1, mean.shape[1])
        spread = np.ptp(np.vstack([measured, mean]), axis=0)  # (n_objectives,)
        spread[~(spread > 0.0)] = 1.0
        score = np.sum(np.nan_to_num(std, nan=0.0) / spread, axis=1)  # (n_candidates,)
        return np.argsort(-score, kind="stable")[:batch_size].astype(np.int64)
