"""Mixed surrogate: a different registered surrogate for each objective."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from search_engine.errors import ConfigError
from search_engine.params import Param
from search_engine.registry import SURROGATES
from search_engine.surrogates.base import Surrogate
from search_engine.types import Array

FIELD = "surrogate.params.surrogates"


class MixSurrogate(Surrogate):
    """One member surrogate per objective, in objective order, each fitted on its own column.

    Useful when objectives differ in kind, e.g. a GP for a smooth accuracy and XGBoost for a
    latency with steps. The flags depend on the members, so each instance sets its own:
    ``predicts_values`` when every member predicts values, ``provides_std`` when every member
    provides a std. The class-level values (both false) are what can be promised before the
    members are known; ``capabilities()`` therefore reports them, and configuration checks need
    an instance (or :meth:`member_capabilities`) to know better.
    """

    provides_std = False
    predicts_values = False

    PARAMS: ClassVar[tuple[Param, ...]] = (
        Param(
            "surrogates",
            "json",
            [{"name": "gp", "params": {}}, {"name": "xgboost", "params": {}}],
            'One surrogate per objective, in objective order: a list of {"name": ..., "params": {...}}.',
        ),
    )

    def __init__(self, surrogates: Sequence[Any]) -> None:
        if isinstance(surrogates, str | bytes) or not isinstance(surrogates, Sequence) or not surrogates:
            raise ConfigError(FIELD, 'expected a non-empty list of {"name": ..., "params": {...}}')
        self.members: list[Surrogate] = [
            _build_member(spec, f"{FIELD}[{i}]") for i, spec in enumerate(surrogates)
        ]
        # Instance values shadow the class constants; the base class reads them through self.
        self.provides_std = all(m.provides_std for m in self.members)
        self.predicts_values = all(m.predicts_values for m in self.members)

    @staticmethod
    def member_capabilities(surrogates: Sequence[Any]) -> dict[str, bool]:
        """The flags a mix of ``surrogates`` (same format as the parameter) would have."""
        mix = MixSurrogate(surrogates)
        return {"provides_std": mix.provides_std, "predicts_values": mix.predicts_values}

    def _fit(self, X: Array, Y: Array, rng: np.random.Generator) -> None:
        if Y.shape[1] != len(self.members):
            raise ValueError(
                f"the mix has {len(self.members)} surrogates but the data have {Y.shape[1]} objectives; "
                "give exactly one surrogate per objective"
            )
        for column, member in enumerate(self.members):
            member.fit(X, Y[:, [column]], rng)

    def _predict(self, X: Array) -> tuple[Array, Array | None]:
        predictions = [member.predict(X) for member in self.members]
        mean = np.column_stack([m for m, _ in predictions])  # (n, n_objectives)
        stds = [s for _, s in predictions if s is not None]
        if len(stds) < len(predictions):
            return mean, None
        return mean, np.column_stack(stds)


def _build_member(spec: Any, field: str) -> Surrogate:
    """Validate one ``{"name", "params"}`` spec and build it; errors name ``field`` or a sub-field."""
    if not isinstance(spec, Mapping):
        raise ConfigError(field, f'expected {{"name": ..., "params": {{...}}}}, got {spec!r}')
    unknown = sorted(set(spec) - {"name", "params"})
    if unknown:
        raise ConfigError(f"{field}.{unknown[0]}", 'unknown key; a member has only "name" and "params"')
    name, params = spec.get("name"), spec.get("params", {})
    if name == "mix":
        raise ConfigError(f"{field}.name", "a mix cannot contain another mix")
    if not isinstance(name, str):
        raise ConfigError(f"{field}.name", f"expected the name of a surrogate, got {name!r}")
    member: Surrogate = SURROGATES.build(name, params, field=field)
    return member
