"""The extended space reaches MobileViT, and the original HyT-NAS space stays exactly as it was."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search_engine.config import ComponentSpec, StudyConfig
from search_engine.errors import ConfigError
from search_engine.objectives import Objective
from search_engine.optimizer import initial_design
from search_engine.references import reference_names
from search_engine.registry import SPACES
from search_engine.spaces.hytnas import HyTNASSpace
from search_engine.spaces.hytnas_stages import stage_summaries, stage_view, stage_views, summary
from search_engine.spaces.mobilevit import (
    REFERENCES,
    MobileViTSpace,
    ffn_widths,
    final_conv_channels,
    stage_channels,
    transformer_dims,
)

ORIGINAL = HyTNASSpace()
EXTENDED = MobileViTSpace()

REFERENCE_WIDTHS = {
    # channels of stages 1-5, transformer widths of stages 3-5, channels before pooling: from
    # apple/ml-cvnets cvnets/models/classification/config/mobilevit.py (FFN = 2 x transformer width)
    "MobileViT-XXS": ((16, 24, 48, 64, 80), (64, 80, 96), 320),
    "MobileViT-XS": ((32, 48, 64, 80, 96), (96, 120, 144), 384),
    "MobileViT-S": ((32, 64, 96, 128, 160), (144, 192, 240), 640),
}
PAPER_PARAMS_M = {"MobileViT-XXS": 1.3, "MobileViT-XS": 2.3, "MobileViT-S": 5.6}
"""Parameters in millions as the MobileViT paper and ml-cvnets' model zoo give them (1000 classes)."""
TIMM_PARAMS_M = {"MobileViT-XXS": 1.27, "MobileViT-XS": 2.32, "MobileViT-S": 5.58}
"""The same models' ``param_count`` in timm's ``results/benchmark-infer-*.csv`` (``mobilevit_xxs`` ...)."""

# Four architectures of the original space (their keys) and what the closed form gave for them
# before the extended space existed: the measured tables and every stored study depend on these.
ORIGINAL_KEYS = [
    "4|1|4|4|4|1|4|1|1|24|2|1.5|2|1.5|2|2|1|1|1.5|1|2|2|2",
    "1|2|4|2|1|2|4|1|1|16|1|1.5|1|1.5|4|1|1|1|2|1|8|8|4",
    "2|2|1|3|2|4|4|4|4|8|1.5|1|1|1|2|4|4|2|1.5|1.5|2|2|2",
    "4|2|3|4|4|4|4|1|2|24|1.5|2|1|1.5|2|1|2|2|1|2|2|8|4",
]
ORIGINAL_COUNTS = {
    ("detection", 224): {
        "params": [3917572, 255388, 162940, 1361956],
        "macs": [701154928, 101911656, 91617952, 588111040],
        "activation_memory": [6422528, 2408448, 3211264, 6422528],
    },
    ("classification", 256): {
        "params": [3760322, 118610, 28994, 1215146],
        "macs": [843285616, 68701032, 63281272, 708113464],
        "activation_memory": [8388608, 3145728, 4194304, 8388608],
    },
}


def _original_architectures() -> list[dict[str, Any]]:
    return [
        {name: float(value) for name, value in zip(ORIGINAL.names, key.split("|"), strict=True)}
        for key in ORIGINAL_KEYS
    ]


def test_the_original_space_keeps_its_23_variables_keys_and_counts() -> None:
    architectures = _original_architectures()
    X = ORIGINAL.encode(architectures)
    assert ORIGINAL.n_vars == 23
    assert ORIGINAL.keys(X) == ORIGINAL_KEYS
    assert ORIGINAL.features(X)[0, 10:14].tolist() == [48, 72, 144, 216]  # int(previous x growth)
    assert ORIGINAL.features(X)[0, 17:20].tolist() == [64, 192, 128]  # power of two x FFN ratio
    for (task, resolution), expected in ORIGINAL_COUNTS.items():
        counts = ORIGINAL.known_quantities(X, {"task": task, "resolution": resolution})
        for quantity, values in expected.items():
            assert counts[quantity].tolist() == values, (task, quantity)


def test_the_original_spaces_networks_keep_their_parameter_counts() -> None:
    torch = pytest.importorskip("torch")
    from search_engine.nn.hybrid import build_model

    for task, resolution in ORIGINAL_COUNTS:
        for architecture, params in zip(
            _original_architectures(), ORIGINAL_COUNTS[task, resolution]["params"], strict=True
        ):
            model = build_model(architecture, task=task, resolution=resolution)
            assert sum(p.numel() for p in model.parameters()) == params
            assert all(not block.resize for block in model.modules() if hasattr(block, "resize"))
    del torch


def test_the_extended_space_is_registered_and_round_trips() -> None:
    space = SPACES.build("hytnas-mobilevit", {}, "space")
    assert isinstance(space, MobileViTSpace) and space.to_spec() == {"name": "hytnas-mobilevit", "params": {}}
    assert space.n_vars == 27
    X = space.sample_uniform(200, np.random.default_rng(1))
    assert np.array_equal(space.encode(space.decode(X)), X)
    assert len(space.feature_names) == len(set(space.feature_names)) == 27


@pytest.mark.parametrize("name", REFERENCES)
def test_the_references_are_mobilevit_widths_in_the_extended_space(name: str) -> None:
    channels, dims, final = REFERENCE_WIDTHS[name]
    architecture = REFERENCES[name]
    assert tuple(stage_channels(architecture)) == channels
    assert tuple(transformer_dims(architecture)) == dims
    assert tuple(ffn_widths(architecture)) == tuple(2 * d for d in dims)
    assert final_conv_channels(architecture) == final
    features = dict(
        zip(EXTENDED.feature_names, EXTENDED.features(EXTENDED.encode([architecture]))[0], strict=True)
    )
    assert [features[f"channels_stage{s}"] for s in range(1, 6)] == list(channels)
    assert [features[f"dim_stage{s}"] for s in (3, 4, 5)] == list(dims)
    assert features["final_conv_channels"] == final


@pytest.mark.parametrize("name", REFERENCES)
def test_mobilevit_built_in_the_extended_space_has_the_papers_parameter_count(name: str) -> None:
    """1000-class classifiers at 256 px: the paper's 1.3 M / 2.3 M / 5.6 M, timm's 1.27 / 2.32 / 5.58 M."""
    pytest.importorskip("torch")
    from search_engine.nn.hybrid import build_model

    setting = {"task": "classification", "resolution": 256, "num_classes": 1000}
    model = build_model(REFERENCES[name], **setting)  # type: ignore[arg-type]
    params = sum(p.numel() for p in model.parameters())
    assert round(params / 1e6, 1) == PAPER_PARAMS_M[name]
    assert round(params / 1e6, 2) == TIMM_PARAMS_M[name]
    known = EXTENDED.known_quantities(EXTENDED.encode([REFERENCES[name]]), setting)
    assert known["params"][0] == params


def test_maps_not_a_multiple_of_the_patch_are_resized_not_padded_in_the_extended_space() -> None:
    """At 224 px stage 5's map is 7 x 7: padded to 8 x 8, the transformer sees zero tokens; resized, none."""
    torch = pytest.importorskip("torch")
    from search_engine.nn.hybrid import build_model

    original = {name: ORIGINAL.variables[j].choices[0] for j, name in enumerate(ORIGINAL.names)}
    extended = dict(REFERENCES["MobileViT-XXS"])
    zero_tokens: dict[str, int] = {}
    for label, architecture in (("padded", original), ("resized", extended)):
        model = build_model(architecture, task="classification", resolution=224)
        stage5 = model.backbone.stages[4][1]
        captured: list[Any] = []
        stage5.transformer.register_forward_hook(
            lambda module, inputs, output, into=captured: into.append(inputs[0])
        )
        with torch.no_grad():
            model(torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
        tokens = captured[0]  # (p * p, 16 patches of 2 x 2 over an 8 x 8 map, d)
        assert tokens.shape[1] == 16
        zero_tokens[label] = int((tokens.abs().sum(dim=-1) == 0).sum())
    assert zero_tokens == {"padded": 15, "resized": 0}  # the 15 pixels padding adds to a 7 x 7 map


def test_the_stage_view_shows_the_transformer_width_and_the_final_convolution() -> None:
    view = stage_view(REFERENCES["MobileViT-XS"], {"task": "classification", "num_classes": 1000})
    assert view is not None
    assert [view.row(f"stage{s}").values["dim"] for s in (3, 4, 5)] == [96, 120, 144]
    assert view.row("head").values["channels"] == 384 and "1×1 convolution to 384" in view.row("head").kind
    assert "dim" not in [c.key for c in stage_view(_original_architectures()[0]).columns]  # type: ignore[union-attr]


def _torch_study(space: str, **evaluator: Any) -> StudyConfig:
    return StudyConfig(
        space=ComponentSpec(space, {}),
        evaluator=ComponentSpec("torch", {"space": space, **evaluator}),
        objectives=(Objective("accuracy_proxy", "max", "score"), Objective("latency", "min", "ms")),
        n_init=6,
        budget=10,
    )


def test_a_torch_study_measures_the_references_first_within_its_initial_design() -> None:
    config = _torch_study("hytnas-mobilevit", measure_references=True).validate()
    X = initial_design(config)
    space = config.build_space()
    assert X.shape == (6, 27)
    names = reference_names(config, space.keys(X))
    assert names[:3] == list(REFERENCES) and names[3:] == [None, None, None]
    again = initial_design(config, exclude=space.keys(X[:1]))  # XXS measured already
    assert reference_names(config, space.keys(again))[:2] == ["MobileViT-XS", "MobileViT-S"]
    plain = _torch_study("hytnas-mobilevit").validate()
    assert reference_names(plain, space.keys(initial_design(plain))) == [None] * 6


def test_a_torch_study_must_search_the_space_its_evaluator_builds() -> None:
    with pytest.raises(ConfigError) as error:
        StudyConfig(
            space=ComponentSpec("hytnas", {}),
            evaluator=ComponentSpec("torch", {"space": "hytnas-mobilevit"}),
            objectives=(Objective("accuracy_proxy", "max", "score"), Objective("latency", "min", "ms")),
        ).validate()
    assert error.value.field == "space"
    with pytest.raises(ConfigError) as error:
        _torch_study("hytnas", measure_references=True).validate()
    assert error.value.field == "evaluator.params.measure_references"


def test_the_torch_evaluator_measures_an_architecture_of_the_extended_space() -> None:
    pytest.importorskip("torch")
    from search_engine.nn.hybrid import build_model
    from search_engine.registry import EVALUATORS

    quick = {"resolution": 64, "repeats": 1, "max_repeats": 1, "warmup": 0, "accuracy": "none"}
    evaluator = EVALUATORS.build(
        "torch", {"space": "hytnas-mobilevit", "task": "classification", **quick}, "e"
    )
    assert evaluator.default_space().to_spec()["name"] == "hytnas-mobilevit"  # type: ignore[union-attr]
    [result] = evaluator.evaluate([REFERENCES["MobileViT-XXS"]])
    assert result.ok, result.error
    model = build_model(REFERENCES["MobileViT-XXS"], task="classification", resolution=64)
    assert result.metrics["params_total"] == sum(p.numel() for p in model.parameters())
    [refused] = evaluator.evaluate([_original_architectures()[0]])  # not an architecture of its space
    assert not refused.ok


def test_stage_views_of_both_spaces_at_once_add_up_to_each_spaces_closed_form() -> None:
    """One list may hold architectures of both spaces (a comparison): each is counted as its own network."""
    rng = np.random.default_rng(9)
    X_original, X_extended = ORIGINAL.sample_uniform(6, rng), EXTENDED.sample_uniform(6, rng)
    mixed = [
        a for pair in zip(ORIGINAL.decode(X_original), EXTENDED.decode(X_extended), strict=True) for a in pair
    ]
    setting = {"task": "classification", "resolution": 96, "num_classes": 5}
    views = stage_views(mixed, setting)
    expected = {
        "original": ORIGINAL.known_quantities(X_original, setting),
        "extended": EXTENDED.known_quantities(X_extended, setting),
    }
    for i, view in enumerate(views):
        assert view is not None
        known = expected["original" if i % 2 == 0 else "extended"]
        for part, quantity in (("backbone", "params.backbone"), ("head", "params.head"), ("total", "params")):
            assert view.row(part).values["params"] == known[quantity][i // 2]
        assert view.row("total").values["macs"] == known["macs"][i // 2]
    assert stage_summaries(mixed, setting)[1] == summary(views[1])  # type: ignore[arg-type]
