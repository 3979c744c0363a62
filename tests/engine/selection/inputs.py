"""Selection inputs for selectors that read only the predictions (nothing measured yet)."""

from __future__ import annotations

import numpy as np

from search_engine.selection.base import SelectionInput


def predictions_only(mean: np.ndarray) -> SelectionInput:
    """Candidates with predicted ``mean (n, m)``, no std, no measurements, reference point at 1."""
    return SelectionInput(
        X=np.zeros((mean.shape[0], 2)),
        mean=mean,
        std=None,
        Y_measured=np.empty((0, mean.shape[1])),
        ref_point=np.ones(mean.shape[1]),
    )
