"""The HyT-NAS space: DESIGN.md's 23 variables, round trips, extremes and table features."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from search_engine.spaces.hytnas import HyTNASSpace, ffn_widths, stage_channels

EXPECTED_CHOICES = (
    [(1, 2, 3, 4)] * 4
    + [(1, 2, 4)] * 5
    + [(8, 16, 24, 32)]
    + [(1, 1.5, 2)] * 4
    + [(1, 2, 4)] * 3
    + [(1, 1.5, 2)] * 3
    + [(2, 4, 8)] * 3
)


def test_space_has_the_23_variables_of_the_design_table() -> None:
    space = HyTNASSpace()
    assert space.n_vars == 23
    assert [v.choices for v in space.variables] == EXPECTED_CHOICES
    assert space.names[:4] == ["blocks_stage2", "blocks_stage3", "blocks_stage4", "blocks_stage5"]
    assert space.names[20:] == ["patch_stage3", "patch_stage4", "patch_stage5"]


def test_round_trip_over_many_random_architectures(rng: np.random.Generator) -> None:
    space = HyTNASSpace()
    X = space.sample_uniform(2000, rng)
    archs = space.decode(X)
    np.testing.assert_array_equal(space.encode(archs), X)
    assert space.keys(space.encode(archs)) == space.keys(X)


def test_every_extreme_of_every_variable_round_trips() -> None:
    space = HyTNASSpace()
    for j, low_or_high in itertools.product(range(23), (0.0, 1.0)):
        x = np.full((1, 23), 0.5)
        x[0, j] = low_or_high
        [arch] = space.decode(x)
        choices = EXPECTED_CHOICES[j]
        assert arch[space.names[j]] == (choices[0] if low_or_high == 0.0 else choices[-1])
        np.testing.assert_array_equal(space.encode([arch]), space.canonicalize(x))


def test_distinct_architectures_have_distinct_keys(rng: np.random.Generator) -> None:
    space = HyTNASSpace()
    X = space.sample_uniform(500, rng)
    keys = space.keys(X)
    rows = {tuple(row) for row in X}
    assert len(set(keys)) == len(rows)


def test_features_expand_ratios_to_absolute_channels_and_ffn_widths() -> None:
    space = HyTNASSpace()
    arch = {name: space.variables[j].choices[0] for j, name in enumerate(space.names)}
    arch.update(
        channels_stage1=24,
        growth_stage2=1.5,
        growth_stage3=1.5,
        growth_stage4=1.5,
        growth_stage5=2,
        ffn_ratio_stage3=1.5,
        ffn_ratio_stage4=2,
        ffn_ratio_stage5=1,
    )
    assert stage_channels(arch) == [24, 36, 54, 81, 162]
    assert ffn_widths(arch) == [48, 128, 128]
    features = space.features(space.encode([arch]))[0]
    assert features[9:14].tolist() == [24, 36, 54, 81, 162]
    assert features[17:20].tolist() == [48, 128, 128]


def test_features_reproduce_the_measured_latency_table(hytnas_data_dir: Path) -> None:
    """Rows of the latency table, re-encoded from their ratios, give back the table's columns."""
    space = HyTNASSpace()
    table = np.loadtxt(hytnas_data_dir / "models_lat.csv", delimiter=",")  # FFN as ratios
    absolute = np.loadtxt(hytnas_data_dir / "models_lat_pre.csv", delimiter=",")
    archs = []
    for row in table:
        arch = {name: row[j] for j, name in enumerate(space.names)}
        channels = row[9:14]
        for k in range(4):
            ratio = channels[k + 1] / channels[k]
            arch[space.names[10 + k]] = min((1, 1.5, 2), key=lambda c, r=ratio: abs(c - r))
        archs.append(arch)
    features = space.features(space.encode(archs))
    exact = [j for j in range(23) if j not in (12, 13)]
    np.testing.assert_array_equal(features[:, exact], absolute[:, exact])
    # Some rows record stage 4-5 channels off the x1/x1.5/x2 grid (e.g. 96 -> 128); the rest agree.
    consistent = np.all(features == absolute[:, :23], axis=1)
    assert consistent.mean() > 0.9


def test_feature_names_name_the_absolute_widths_the_features_hold(rng: np.random.Generator) -> None:
    space = HyTNASSpace()
    names = space.feature_names
    assert names[9:14] == [f"channels_stage{s}" for s in range(1, 6)]
    assert names[17:20] == ["ffn_width_stage3", "ffn_width_stage4", "ffn_width_stage5"]
    renamed = {*range(10, 14), *range(17, 20)}
    assert [n for j, n in enumerate(names) if j not in renamed] == [
        n for j, n in enumerate(space.names) if j not in renamed
    ]
    X = space.sample_uniform(20, rng)
    features = space.features(X)  # (20, 23)
    assert features.shape[1] == len(names) == len(set(names))
    for row, arch in zip(features, space.decode(X), strict=True):
        by_name = dict(zip(names, row.tolist(), strict=True))
        assert [by_name[f"channels_stage{s}"] for s in range(1, 6)] == stage_channels(arch)
        assert [by_name[f"ffn_width_stage{s}"] for s in (3, 4, 5)] == ffn_widths(arch)
        assert by_name["heads_stage4"] == arch["heads_stage4"]
