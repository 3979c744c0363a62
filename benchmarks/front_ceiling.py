"""The best log10 hypervolume difference any method can reach on the DGEMO problems with n points.

Under DGEMO's protocol (``sample_efficiency.py``) a method measures 50 initial points and then 200
proposals. Even if every proposal landed on the true Pareto front, in the best places, the
hypervolume of n points on a curve falls short of the whole front's by the staircase between
them, so the final log10 HV difference has a floor that depends on n alone. This computes that
floor exactly for a front discretised into ``--points`` points: the n-point subset of largest
hypervolume (dynamic programming over the points sorted by the first objective, O(n points^2) per
point chosen), against the hypervolume of the dense front ``sample_efficiency.py`` uses.

Read a method's figure against it: a figure near the floor at 200 points means nearly every
proposal is on the front and well spread, and a target below the floor at 250 cannot be met under
this protocol by any method.

    .venv/bin/python benchmarks/front_ceiling.py
    .venv/bin/python benchmarks/front_ceiling.py --problems zdt1 dtlz2 --sizes 150 200 250
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.baselines import evaluate_points
from benchmarks.sample_efficiency import FRONT_POINTS, N_INIT, N_VAR, PROBLEMS, dgemo_design
from search_engine.metrics.hypervolume import hypervolume, log_hypervolume_difference
from search_engine.objectives import to_minimisation
from search_engine.setups import study_config


def best_subset_hypervolumes(front: np.ndarray, ref: np.ndarray, sizes: list[int]) -> dict[int, float]:
    """The largest hypervolume of ``k`` points of the 2-objective ``front``, for each ``k`` in ``sizes``.

    Points sorted by f1 ascending (so f2 descending); a subset's hypervolume is the sum over its
    points of ``(ref1 - f1_j) * (f2_previous - f2_j)``, the previous point's f2 being ``ref2`` for
    the first. ``best[j]``: the largest hypervolume of a subset of the current size whose last point
    is ``j``; each step extends every such subset by one point to its right.
    """
    inside = front[np.all(front < ref, axis=1)]
    points = inside[np.argsort(inside[:, 0])]
    x, y = points[:, 0], points[:, 1]
    width = ref[0] - x  # (n,)
    best = width * (ref[1] - y)  # (n,) one point
    later = np.triu(np.ones((x.shape[0], x.shape[0]), dtype=bool), k=1)  # (i, j): j right of i
    out = {1: float(best.max())} if 1 in sizes else {}
    for k in range(2, max(sizes) + 1):
        gain = width[None, :] * (y[:, None] - y[None, :])  # (i, j) adding j after i
        extended = np.where(later, best[:, None] + gain, -np.inf)  # (i, j)
        best = extended.max(axis=0)
        if k in sizes:
            out[k] = float(best.max())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 150, 200, 250])
    parser.add_argument("--points", type=int, default=2001, help="front points the subset is drawn from")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "front_ceiling.json"))
    args = parser.parse_args()
    results: dict[str, object] = {"points": args.points, "dense_front_points": FRONT_POINTS[2]}
    for problem in args.problems:
        config = study_config(problem, "gp", budget=N_INIT, seed=0, n_init=N_INIT, n_var=N_VAR, n_obj=2)
        evaluator = config.build_evaluator()
        Y0 = evaluate_points(config, evaluator, dgemo_design(N_VAR, N_INIT, 0))
        ref = to_minimisation(Y0, config.objectives).max(axis=0)  # DGEMO's reference point, as there
        true_hv = float(hypervolume(evaluator.true_front(FRONT_POINTS[2]), ref))
        subsets = best_subset_hypervolumes(evaluator.true_front(args.points), ref, args.sizes)
        floors = {str(n): log_hypervolume_difference(hv, true_hv) for n, hv in subsets.items()}
        results[problem] = {"ref_point": ref.tolist(), "true_hv": true_hv, "floor": floors}
        print(f"{problem:6} " + "  ".join(f"{n} points {v:+.3f}" for n, v in floors.items()), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
