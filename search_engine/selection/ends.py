"""Front-ends selection: the best predicted candidate of each objective in turn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from search_engine.selection.base import SelectionInput, Selector


@dataclass(frozen=True)
class EndsSelector(Selector):
    """Picks the candidate with the lowest prediction of objective 1, then of objective 2, and so on.

    The ends of the predicted front, round-robin over the objectives until the batch is full (each
    pick the best of its objective among the candidates not yet picked; ties to the lower index).
    Hypervolume improvement never picks an end that lies beyond the reference point in another
    objective, which is where a search stuck at one end of the front has to go to learn the other
    end: on DTLZ4 every measurement can sit at one corner while the GP's front reaches the other
    (benchmarks/README.md, "The auto optimizer"). Only the order of predictions matters, so rank
    surrogates suit it too.
    """

    def _select(
        self, candidates: SelectionInput, batch_size: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        mean = np.asarray(candidates.mean, dtype=np.float64)  # (n_candidates, n_objectives)
        orders = [np.argsort(mean[:, j], kind="stable") for j in range(mean.shape[1])]
        taken = np.zeros(mean.shape[0], dtype=bool)
        picks: list[int] = []
        positions = [0] * mean.shape[1]
        while len(picks) < batch_size:
            j = len(picks) % mean.shape[1]
            while taken[orders[j][positions[j]]]:
                positions[j] += 1
            pick = int(orders[j][positions[j]])
            taken[pick] = True
            picks.append(pick)
        return np.asarray(picks, dtype=np.int64)
