"""What drives each objective: variable importance, slices and contours from the study's own surrogate.

The measure is the *main-effect share* of functional ANOVA, estimated on the fitted surrogate: for
variable ``j``, the variance over ``x_j`` of the surrogate's prediction averaged over every other
variable (its partial dependence), divided by the prediction's total variance over the space.

Why this measure: it reads any surrogate the study uses (trees, Gaussian processes, ensembles), not
one library's own contributions; it says "how much of the predicted spread this variable explains on
its own", which sums to at most 1 over the variables (the rest is interactions), so shares are
comparable between objectives measured in different units; and its partial dependence is exactly
what the slice view draws, so the bars and the curves tell one story. It describes the surrogate, so
it is only as good as the surrogate's fit on the measured points, which is reported beside it.

All estimates are seeded Monte Carlo over uniformly drawn base points of the unit cube, so the same
study and data give the same figures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from search_engine.metrics.fidelity import surrogate_fidelity
from search_engine.spaces.base import SearchSpace
from search_engine.spaces.generic import GenericSpace
from search_engine.surrogates.base import Surrogate
from search_engine.types import Array

BASE_POINTS = 256
"""Uniform base points over which partial dependence averages the other variables."""

CONTINUOUS_GRID = 21
"""Grid points along a continuous variable (discrete ones use each of their levels)."""

CONTOUR_GRID = 15
"""Grid points per axis of a two-variable contour (fewer levels when the variable has fewer)."""

MIN_MEASURED = 8
"""Fewer successful measurements than this give no importance: the surrogate would be guessing."""

STAGE = re.compile(r"_stage(\d+)$")
"""HyT-NAS variable names end with their network stage (``channels_stage3``)."""


@dataclass(frozen=True)
class Axis:
    """One variable's grid: cube positions and the decoded value at each, for labels."""

    variable: str
    positions: tuple[float, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class ObjectiveImportance:
    """Main-effect shares of one objective's predictions, and how far the surrogate can be trusted.

    Attributes:
        objective: the objective's name.
        variables: variable names, most important first.
        shares: main-effect share of each, in ``variables`` order (0..1; their sum is at most ~1).
        interactions: 1 minus the shares' sum (floored at 0): spread no single variable explains.
        stage_shares: for spaces whose variable names carry a stage (HyT-NAS), the shares summed per
            stage (``stage 1`` ...), most important first; empty otherwise.
        fit_kendall_tau: rank agreement of the surrogate's predictions with the measurements it was
            fitted on (in-sample: an upper bound on how well it ranks new architectures).
    """

    objective: str
    variables: tuple[str, ...]
    shares: tuple[float, ...]
    interactions: float
    stage_shares: tuple[tuple[str, float], ...]
    fit_kendall_tau: float | None


@dataclass(frozen=True)
class Slice:
    """An objective against one variable: the surrogate's partial dependence and the measured points."""

    objective: str
    axis: Axis
    predicted: tuple[float, ...]
    """Partial dependence at each grid position, in the objective's own units."""
    measured_x: tuple[float, ...]
    """Each measured point's cube position along the variable."""
    measured_y: tuple[float, ...]


@dataclass(frozen=True)
class Contour:
    """An objective's partial dependence on two variables, on their grids (``values[i][j]``: y_i, x_j)."""

    objective: str
    x: Axis
    y: Axis
    values: tuple[tuple[float, ...], ...]


class Drivers:
    """A surrogate fitted once on a study's successful measurements, asked for importance, slices, contours.

    Args:
        space: the study's search space.
        surrogate: an unfitted surrogate (the study's own choice), fitted here.
        X: ``(n, n_vars)`` cube points of the measurements.
        Y: ``(n, n_objectives)`` measured values in the objectives' own units (NaN rows are left out).
        objectives: objective names, in ``Y``'s column order.
        seed: seeds the fit and the Monte Carlo base points.

    Raises:
        ValueError: with fewer than ``MIN_MEASURED`` successful measurements.
    """

    def __init__(
        self,
        space: SearchSpace,
        surrogate: Surrogate,
        X: Array,
        Y: Array,
        objectives: Sequence[str],
        seed: int,
    ) -> None:
        finite = np.all(np.isfinite(Y), axis=1)
        if int(finite.sum()) < MIN_MEASURED:
            raise ValueError(
                f"{int(finite.sum())} successful measurements; importance needs at least {MIN_MEASURED}"
            )
        self.space = space
        self.objectives = tuple(objectives)
        self.X = space.canonicalize(np.asarray(X, dtype=np.float64)[finite])
        self.Y = np.asarray(Y, dtype=np.float64)[finite]
        self.n_measured = int(self.X.shape[0])
        rng = np.random.default_rng(seed)
        surrogate.fit(self.X, self.Y, rng)
        self.surrogate = surrogate
        self.base = space.canonicalize(space.sample_uniform(BASE_POINTS, rng))

    def axis(self, variable: str, points: int = CONTINUOUS_GRID) -> Axis:
        """The grid along ``variable``: each level of a discrete one, ``points`` steps of a continuous one."""
        j = self.space.names.index(variable)
        levels = _levels(self.space, j)
        if levels is not None and levels <= max(points, 2):
            positions = (np.arange(levels) + 0.5) / levels
        else:
            positions = np.linspace(0.0, 1.0, points)
        grid = np.tile(self.base[:1], (positions.shape[0], 1))
        grid[:, j] = positions
        labels = [_label(a[variable]) for a in self.space.decode(np.clip(grid, 0.0, 1.0))]
        return Axis(variable, tuple(float(p) for p in positions), tuple(labels))

    def importance(self) -> list[ObjectiveImportance]:
        """Main-effect shares of every variable for every objective."""
        mean, _ = self.surrogate.predict(self.base)
        total = np.var(mean, axis=0)  # (n_objectives,)
        effects = np.zeros((self.space.n_vars, len(self.objectives)))
        for j, name in enumerate(self.space.names):
            dependence = self._dependence(self.axis(name), j)  # (n_grid, n_objectives)
            effects[j] = np.var(dependence, axis=0)
        fitted, _ = self.surrogate.predict(self.X)
        quality = surrogate_fidelity(fitted, self.Y)
        result = []
        for k, objective in enumerate(self.objectives):
            # Both variances are Monte Carlo estimates: a variable that explains everything can
            # come out a little above 1, which means 1.
            shares = (
                np.clip(effects[:, k] / total[k], 0.0, 1.0) if total[k] > 0 else np.zeros(self.space.n_vars)
            )
            order = np.argsort(-shares, kind="stable")
            result.append(
                ObjectiveImportance(
                    objective=objective,
                    variables=tuple(self.space.names[j] for j in order),
                    shares=tuple(float(shares[j]) for j in order),
                    interactions=float(max(0.0, 1.0 - shares.sum())),
                    stage_shares=_by_stage(self.space.names, shares),
                    fit_kendall_tau=quality[k].kendall_tau,
                )
            )
        return result

    def slice(self, objective: str, variable: str) -> Slice:
        """``objective`` against ``variable``: the partial dependence curve and the measured points."""
        k, j = self.objectives.index(objective), self.space.names.index(variable)
        axis = self.axis(variable)
        dependence = self._dependence(axis, j)[:, k]
        return Slice(
            objective=objective,
            axis=axis,
            predicted=tuple(float(v) for v in dependence),
            measured_x=tuple(float(v) for v in self.X[:, j]),
            measured_y=tuple(float(v) for v in self.Y[:, k]),
        )

    def contour(self, objective: str, x_variable: str, y_variable: str) -> Contour:
        """``objective``'s partial dependence on two variables at once."""
        if x_variable == y_variable:
            raise ValueError("a contour needs two different variables")
        k = self.objectives.index(objective)
        jx, jy = self.space.names.index(x_variable), self.space.names.index(y_variable)
        x_axis, y_axis = self.axis(x_variable, CONTOUR_GRID), self.axis(y_variable, CONTOUR_GRID)
        xs, ys = np.meshgrid(np.asarray(x_axis.positions), np.asarray(y_axis.positions))  # (ny, nx)
        points = np.repeat(self.base[None, :, :], xs.size, axis=0)  # (ny * nx, n, n_vars)
        points[:, :, jx] = xs.reshape(-1, 1)
        points[:, :, jy] = ys.reshape(-1, 1)
        mean, _ = self.surrogate.predict(points.reshape(-1, self.space.n_vars))
        values = mean[:, k].reshape(xs.size, self.base.shape[0]).mean(axis=1).reshape(xs.shape)
        return Contour(objective, x_axis, y_axis, tuple(tuple(float(v) for v in row) for row in values))

    def _dependence(self, axis: Axis, j: int) -> Array:
        """``(n_grid, n_objectives)`` mean prediction with variable ``j`` fixed at each grid position."""
        n, grid = self.base.shape[0], np.asarray(axis.positions)
        points = np.repeat(self.base[None, :, :], grid.shape[0], axis=0)  # (n_grid, n, n_vars)
        points[:, :, j] = grid[:, None]
        mean, _ = self.surrogate.predict(points.reshape(-1, self.space.n_vars))
        return np.asarray(mean.reshape(grid.shape[0], n, -1).mean(axis=1))


def _levels(space: SearchSpace, j: int) -> int | None:
    """How many values variable ``j`` takes (None for a continuous one)."""
    if not isinstance(space, GenericSpace):
        return None
    levels = int(space.variables[j].levels)  # 0 for a continuous variable
    return levels or None


def _label(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _by_stage(names: Sequence[str], shares: Array) -> tuple[tuple[str, float], ...]:
    """Shares summed per network stage, when the names carry one (HyT-NAS); else empty."""
    totals: dict[str, float] = {}
    for name, share in zip(names, shares, strict=True):
        found = STAGE.search(name)
        if found is None:
            return ()
        stage = f"stage {found.group(1)}"
        totals[stage] = totals.get(stage, 0.0) + float(share)
    return tuple(sorted(totals.items(), key=lambda item: -item[1]))
