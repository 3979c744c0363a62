"""Mixed surrogate: a different registered surrogate for each objective."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search_engine.errors import ConfigError
from search_engine.params import param
from search_engine.registry import SURROGATES
from search_engine.surrogates.base import Surrogate
from search_engine.types import Array


@dataclass(eq=False)
class MixSurrogate(Surrogate):
    """One member surrogate per objective, in objective order, each fitted on its own column.

    Useful when objectives differ in kind, e.g. a GP for a smooth accuracy and XGBoost for a
    latency with steps. The flags depend on the members, so each instance sets its own:
    ``predicts_values`` when every member predicts values, ``provides_std`` when every member
    provides a std. The class-level values (both false) are what can be promised before the
    members are known; ``capabilities()`` therefore reports them, and configuration checks ask
    :meth:`capabilities_for` the members' flags, which needs no member built.
    """

    provides_std = False
    predicts_values = False

    surrogates: list[dict[str, Any]] = param(
        [{"name": "gp", "params": {}}, {"name": "xgboost", "params": {}}],
        'One surrogate per objective, in objective order: a list of {"name": ..., "params": {...}}.',
    )
    members: list[Surrogate] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()  # checks every member's spec (check_params)
        self.members = [
            SURROGATES.build(
                spec["name"], spec.get("params", {}), field=f"{self.KIND}.params.surrogates[{i}]"
            )
            for i, spec in enumerate(self.surrogates)
        ]
        # Instance values shadow the class constants; the base class reads them through self.
        self.provides_std = all(m.provides_std for m in self.members)
        self.predicts_values = all(m.predicts_values for m in self.members)

    @classmethod
    def check_params(cls, values: Mapping[str, Any], field: str) -> None:
        _member_capabilities(values["surrogates"], f"{field}.surrogates")

    @classmethod
    def capabilities_for(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """``provides_std`` and ``predicts_values`` when every member has them."""
        flags = _member_capabilities(values["surrogates"], f"{cls.KIND}.params.surrogates")
        return {name: all(f[name] for f in flags) for name in ("provides_std", "predicts_values")}

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


def _member_capabilities(surrogates: Any, field: str) -> list[dict[str, Any]]:
    """Each member's flags, after checking its ``{"name", "params"}`` spec; errors name ``field[i]``."""
    if isinstance(surrogates, str | bytes) or not isinstance(surrogates, list | tuple) or not surrogates:
        raise ConfigError(field, 'expected a non-empty list of {"name": ..., "params": {...}}')
    flags = []
    for i, spec in enumerate(surrogates):
        where = f"{field}[{i}]"
        if not isinstance(spec, Mapping):
            raise ConfigError(where, f'expected {{"name": ..., "params": {{...}}}}, got {spec!r}')
        unknown = sorted(set(spec) - {"name", "params"})
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}", 'unknown key; a member has only "name" and "params"')
        name = spec.get("name")
        if name == "mix":
            raise ConfigError(f"{where}.name", "a mix cannot contain another mix")
        if not isinstance(name, str):
            raise ConfigError(f"{where}.name", f"expected the name of a surrogate, got {name!r}")
        resolved = SURROGATES.resolve(name, spec.get("params", {}), where)
        flags.append(SURROGATES.load(name).capabilities_for(resolved))
    return flags
