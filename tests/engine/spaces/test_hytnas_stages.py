"""The HyT-NAS network read stage by stage: its design per stage, its costs, its measured latency."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search_engine.spaces.hytnas import HyTNASSpace, ffn_widths, stage_channels
from search_engine.spaces.hytnas_counts import BACKBONE_PARTS
from search_engine.spaces.hytnas_stages import stage_summaries, stage_view, stage_views, summary
from search_engine.types import NETWORK_STAGES as STAGES  # the stages that have weights

SPACE = HyTNASSpace()


def architectures(n: int, seed: int = 5) -> list[dict[str, Any]]:
    return SPACE.decode(SPACE.sample_uniform(n, np.random.default_rng(seed)))


def test_each_stage_shows_its_design_as_the_network_builds_it() -> None:
    [architecture] = architectures(1)
    view = stage_view(architecture)
    assert view is not None
    assert [row.part for row in view.rows] == [*BACKBONE_PARTS, "backbone", "neck", "head", "total"]
    channels, ffn = stage_channels(architecture), ffn_widths(architecture)
    for stage in range(1, 6):
        values = view.row(f"stage{stage}").values
        assert values["channels"] == channels[stage - 1]
        assert values["expansion"] == architecture[f"expansion_stage{stage}"]
    assert view.row("stage1").values["blocks"] == 1
    assert view.row("stage2").values["blocks"] == architecture["blocks_stage2"]
    assert view.row("stage2").values["heads"] is None  # convolution only: no attention there
    for k, stage in enumerate((3, 4, 5)):
        values = view.row(f"stage{stage}").values
        assert values["blocks"] == architecture[f"blocks_stage{stage}"]
        assert values["ffn_width"] == ffn[k]
        assert values["patch"] == architecture[f"patch_stage{stage}"]


def test_stage_costs_add_up_to_the_spaces_closed_form_counts_per_stage_and_in_total() -> None:
    sample = architectures(40)
    for setting in ({}, {"task": "classification", "resolution": 96, "num_classes": 5}):
        known = SPACE.known_quantities(SPACE.encode(sample), setting)
        for i, view in enumerate(stage_views(sample, setting)):
            assert view is not None
            assert view.row("backbone").values["params"] == known["params.backbone"][i]
            assert view.row("backbone").values["macs"] == known["macs.backbone"][i]
            assert sum(view.row(p).values["macs"] or 0 for p in BACKBONE_PARTS) == known["macs.backbone"][i]
            assert view.row("head").values["params"] == known["params.head"][i]
            assert view.row("total").values["params"] == known["params"][i]
            assert view.row("total").values["macs"] == known["macs"][i]


def test_classification_networks_have_a_classifier_for_head_and_no_neck() -> None:
    view = stage_view(architectures(1)[0], {"task": "classification", "num_classes": 7})
    assert view is not None
    assert "neck" not in [row.part for row in view.rows]
    assert "7 classes" in view.row("head").kind


def test_every_stage_parameter_count_equals_the_built_networks_module(one_torch_thread: None) -> None:
    pytest.importorskip("torch")
    from search_engine.nn.hybrid import build_model

    def size(module: Any) -> float:
        return float(sum(p.numel() for p in module.parameters()))

    sample = architectures(12, seed=9)
    for architecture, view in zip(sample, stage_views(sample, {"resolution": 64}), strict=True):
        assert view is not None
        model = build_model(architecture, resolution=64)
        built = {"stem": size(model.backbone.stem), "neck": size(model.neck), "head": size(model.head)}
        built.update({f"stage{s}": size(model.backbone.stages[s - 1]) for s in range(1, 6)})
        assert {part: view.row(part).values["params"] for part in built} == built


def test_measured_latency_lands_on_the_stages_that_report_it_and_sums_to_the_network() -> None:
    [architecture] = architectures(1)
    view = stage_view(architecture, stage_latency={"backbone": 12.5, "neck": 2.0, "head": 0.5})
    assert view is not None
    assert [view.row(p).values["latency_ms"] for p in (*STAGES, "total")] == [12.5, 2.0, 0.5, 15.0]
    assert view.row("stage3").values["latency_ms"] is None
    assert "latency_ms" in [c.key for c in view.columns]

    partial = stage_view(architecture, stage_latency={"backbone": 12.5, "stage3": 4.0})
    assert partial is not None
    assert partial.row("stage3").values["latency_ms"] == 4.0
    assert partial.row("total").values["latency_ms"] is None  # the neck and head were not measured

    unmeasured = stage_view(architecture)
    assert unmeasured is not None and "latency_ms" not in [c.key for c in unmeasured.columns]


def test_heads_that_do_not_divide_the_channels_show_what_attention_uses_and_say_so() -> None:
    base = {name: SPACE.variables[j].choices[0] for j, name in enumerate(SPACE.names)}
    # 24 channels x1.5 = 36 at stage 2, x1.5 = 54 at stage 3: 4 heads do not divide 54, 3 do.
    odd = {**base, "channels_stage1": 24, "growth_stage2": 1.5, "growth_stage3": 1.5, "heads_stage3": 4}
    view = stage_view(odd)
    assert view is not None
    assert view.row("stage3").values["channels"] == 54
    assert view.row("stage3").values["heads"] == 3
    assert "4 heads asked" in view.row("stage3").note


def test_the_hover_summary_has_a_line_per_backbone_stage_and_one_for_the_network() -> None:
    sample = architectures(2)
    first, second, missing, other = stage_summaries([*sample, None, {"x0": 0.5}])
    assert missing is None and other is None
    assert first is not None and second is not None and first != second
    lines = first.split("\n")
    assert [line.split(":")[0] for line in lines] == [*(f"stage {s}" for s in range(1, 6)), "network"]
    assert "params" in lines[-1] and "MACs" in lines[-1]
    assert f"{stage_channels(sample[0])[2]} ch" in lines[2] and "patch" in lines[2]


def test_the_fast_summaries_say_what_each_view_says() -> None:
    sample = architectures(60, seed=11)
    for setting in ({}, {"task": "classification"}):
        views = stage_views(sample, setting)
        assert stage_summaries(sample, setting) == [summary(view) for view in views if view is not None]


def test_an_architecture_missing_a_variable_has_no_view() -> None:
    [architecture] = architectures(1)
    del architecture["patch_stage4"]
    assert stage_view(architecture) is None
    assert stage_view({**architecture, "patch_stage4": "large"}) is None
