"""Mixed surrogate: one member per objective, flags from the members, configuration errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search_engine.errors import ConfigError
from search_engine.registry import SURROGATES
from search_engine.surrogates.gp import GPSurrogate
from search_engine.surrogates.mix import MixSurrogate
from search_engine.surrogates.xgb import XGBSurrogate


def _spec(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "params": {}} for name in names]


def test_mix_fits_each_member_on_its_own_column(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    """Same numbers as fitting the members by hand, in objective order, from one generator."""
    X, Y = zdt1_data
    mix = SURROGATES.build("mix", {"surrogates": _spec("xgboost", "gp")}, "surrogate")
    mix.fit(X, Y, np.random.default_rng(3))
    X_new = np.random.default_rng(4).random((15, X.shape[1]))
    mean, std = mix.predict(X_new)

    rng = np.random.default_rng(3)
    xgb, gp = XGBSurrogate(), GPSurrogate()
    xgb.fit(X, Y[:, [0]], rng)
    gp.fit(X, Y[:, [1]], rng)
    np.testing.assert_array_equal(mean[:, 0], xgb.predict(X_new)[0][:, 0])
    np.testing.assert_array_equal(mean[:, 1], gp.predict(X_new)[0][:, 0])
    assert std is None  # xgboost has no std, so the mix has none


def test_mix_of_std_providers_returns_each_members_std(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    mix = MixSurrogate(_spec("gp", "gp"))
    mix.fit(X, Y, np.random.default_rng(5))
    mean, std = mix.predict(X[:6])
    assert std is not None and std.shape == mean.shape == (6, 2)
    assert np.all(std >= 0)


@pytest.mark.parametrize(
    ("names", "provides_std", "predicts_values"),
    [
        (("gp", "gp"), True, True),
        (("gp", "xgboost"), False, True),
        (("gp", "mlp-ensemble"), True, False),
        (("xgboost", "xgb-ranker"), False, False),
        (("bnn", "gp"), True, True),
    ],
)
def test_mix_flags_hold_only_when_every_member_has_them(
    names: tuple[str, str], provides_std: bool, predicts_values: bool
) -> None:
    mix = MixSurrogate(_spec(*names))
    assert (mix.provides_std, mix.predicts_values) == (provides_std, predicts_values)
    assert MixSurrogate.capabilities_for({"surrogates": _spec(*names)}) == {
        "provides_std": provides_std,
        "predicts_values": predicts_values,
    }


def test_mix_class_promises_nothing_before_its_members_are_known() -> None:
    assert MixSurrogate.capabilities() == {"provides_std": False, "predicts_values": False}
    MixSurrogate(_spec("gp", "gp"))
    assert MixSurrogate.provides_std is False  # an instance's flags do not leak into the class


def test_mix_passes_member_params_through(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    mix = MixSurrogate([{"name": "xgboost", "params": {"n_estimators": 3}}, {"name": "gp"}])
    assert isinstance(mix.members[0], XGBSurrogate) and mix.members[0].n_estimators == 3
    assert isinstance(mix.members[1], GPSurrogate)


@pytest.mark.parametrize(
    ("surrogates", "field"),
    [
        ([], "surrogate.params.surrogates"),
        ("gp", "surrogate.params.surrogates"),
        (["gp"], "surrogate.params.surrogates[0]"),
        (_spec("gp", "mix"), "surrogate.params.surrogates[1].name"),
        (_spec("gp", "random-forest"), "surrogate.params.surrogates[1].name"),
        ([{"params": {}}], "surrogate.params.surrogates[0].name"),
        ([{"name": "gp", "options": {}}], "surrogate.params.surrogates[0].options"),
        (
            [{"name": "xgboost", "params": {"n_estimators": 0}}],
            "surrogate.params.surrogates[0].params.n_estimators",
        ),
        ([{"name": "gp", "params": {"depth": 3}}], "surrogate.params.surrogates[0].params.depth"),
    ],
)
def test_mix_rejects_bad_member_specs_naming_the_field(surrogates: Any, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        MixSurrogate(surrogates)
    assert error.value.field == field


def test_mix_needs_one_member_per_objective(zdt1_data: tuple[np.ndarray, np.ndarray]) -> None:
    X, Y = zdt1_data
    mix = MixSurrogate(_spec("xgboost", "xgboost", "xgboost"))
    with pytest.raises(ValueError, match="3 surrogates but the data have 2 objectives"):
        mix.fit(X, Y, np.random.default_rng(0))
