"""Tests for search_engine/nn/hybrid.py: every HyT-NAS architecture builds and runs with the right shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from search_engine.errors import ConfigError  # noqa: E402
from search_engine.nn.hybrid import (  # noqa: E402
    NECK_CHANNELS,
    HybridNet,
    MobileViTBlock,
    attention_heads,
    build_model,
)
from search_engine.spaces.hytnas import HyTNASSpace, stage_channels  # noqa: E402

SPACE = HyTNASSpace()
NUM_CLASSES = 5
ANCHORS = 3


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _with_index(index: int | None) -> dict[str, Any]:
    """Every variable at choice ``index`` (None = the middle choice; -1 = the last)."""
    return {v.name: v.choices[(len(v.choices) - 1) // 2 if index is None else index] for v in SPACE.variables}


def _extremes() -> list[tuple[str, dict[str, Any]]]:
    cases = [("all-min", _with_index(0)), ("all-max", _with_index(-1))]
    for var in SPACE.variables:
        for label, value in (("min", var.choices[0]), ("max", var.choices[-1])):
            cases.append((f"{var.name}-{label}", {**_with_index(None), var.name: value}))
    return cases


EXTREMES = _extremes()


def _run(model: HybridNet, resolution: int) -> Any:
    with torch.no_grad():
        return model(torch.randn(1, 3, resolution, resolution))


def _check_detection(model: HybridNet, resolution: int) -> None:
    out = _run(model, resolution)
    assert set(out) == {"class_logits", "boxes"}
    assert len(out["class_logits"]) == len(out["boxes"]) == 3
    side = resolution
    for level, (logits, boxes) in enumerate(zip(out["class_logits"], out["boxes"], strict=True)):
        side_at_level = -(-side // 2 ** (level + 3))  # ceil: each stride-2 conv with padding 1 rounds up
        assert logits.shape == (1, ANCHORS * NUM_CLASSES, side_at_level, side_at_level)
        assert boxes.shape == (1, ANCHORS * 4, side_at_level, side_at_level)
        assert torch.isfinite(logits).all() and torch.isfinite(boxes).all()


@pytest.mark.parametrize(("label", "architecture"), EXTREMES, ids=[label for label, _ in EXTREMES])
def test_every_extreme_of_every_variable_builds_and_detects(label: str, architecture: dict[str, Any]) -> None:
    model = build_model(architecture, resolution=64, num_classes=NUM_CLASSES, anchors=ANCHORS)
    assert model.neck is not None and model.head is not None and model.classifier is None
    _check_detection(model, 64)


@pytest.mark.parametrize("index", [0, -1], ids=["all-min", "all-max"])
def test_classification_variant_returns_one_logit_per_class_and_has_no_neck_or_head(index: int) -> None:
    model = build_model(_with_index(index), task="classification", resolution=64, num_classes=NUM_CLASSES)
    assert model.task == "classification" and model.neck is None and model.head is None
    logits = _run(model, 64)
    assert logits.shape == (1, NUM_CLASSES)
    assert torch.isfinite(logits).all()


def test_thirty_random_architectures_build_and_run_for_both_tasks() -> None:
    architectures = SPACE.decode(SPACE.sample_uniform(30, np.random.default_rng(7)))
    for i, architecture in enumerate(architectures):
        if i % 2:
            model = build_model(architecture, task="classification", resolution=64, num_classes=NUM_CLASSES)
            assert _run(model, 64).shape == (1, NUM_CLASSES)
        else:
            _check_detection(
                build_model(architecture, resolution=64, num_classes=NUM_CLASSES, anchors=ANCHORS), 64
            )


@pytest.mark.parametrize("resolution", [72, 40, 33])
def test_patches_that_do_not_divide_the_feature_map_are_padded_not_crashed_on(resolution: int) -> None:
    # 72 -> maps 9, 5, 3 (patches 8 / 4 / 8 divide none); 40 -> 5, 3, 2; 33 -> odd sizes everywhere
    architecture = {**_with_index(-1), "patch_stage3": 8, "patch_stage4": 4, "patch_stage5": 8}
    _check_detection(build_model(architecture, num_classes=NUM_CLASSES, anchors=ANCHORS), resolution)


def test_mobilevit_block_keeps_the_map_size_when_padding_is_needed() -> None:
    block = MobileViTBlock(channels=6, dim=6, layers=1, heads=4, ffn_width=8, patch=4).eval()
    with torch.no_grad():
        assert block(torch.randn(2, 6, 5, 7)).shape == (2, 6, 5, 7)
        assert block(torch.randn(1, 6, 1, 1)).shape == (1, 6, 1, 1)  # map smaller than the patch
    assert block.heads == 3  # 6 is not divisible by 4: largest divisor <= 4


def test_attention_heads_is_the_largest_divisor_not_above_the_request() -> None:
    assert attention_heads(27, 4) == 3
    assert attention_heads(18, 4) == 3
    assert attention_heads(64, 4) == 4
    assert attention_heads(27, 2) == 1
    assert attention_heads(2, 4) == 2


class _Recorder(torch.nn.Module):
    """Identity that keeps the token tensor it sees."""

    def forward(self, tokens: Any) -> Any:
        self.tokens = tokens
        return tokens


def test_unfold_groups_same_offset_pixels_and_fold_is_its_exact_inverse() -> None:
    block = MobileViTBlock(channels=4, dim=4, layers=1, heads=1, ffn_width=4, patch=2).eval()
    recorder = _Recorder()
    block.transformer = recorder
    block.local = block.project = block.fusion = torch.nn.Identity()
    x = torch.randn(1, 4, 4, 6)
    with torch.no_grad():
        out = block(x)  # cat([x, fold(unfold(x))]) along channels
    assert torch.equal(out[:, 4:], x)
    # sequence 0 = pixel offset (0, 0) of each of the 2 x 3 patches, in row-major patch order
    assert recorder.tokens.shape == (4, 6, 4)
    assert torch.equal(recorder.tokens[0], x[0, :, ::2, ::2].reshape(4, 6).T)
    assert torch.equal(recorder.tokens[1], x[0, :, ::2, 1::2].reshape(4, 6).T)  # offset (0, 1)


def test_parameter_count_grows_with_channels() -> None:
    def params(architecture: dict[str, Any]) -> int:
        return sum(p.numel() for p in build_model(architecture).parameters())

    base = _with_index(None)
    counts = [params({**base, "channels_stage1": c}) for c in (8, 16, 24, 32)]
    assert counts == sorted(counts) and len(set(counts)) == 4
    assert params({**base, "growth_stage5": 2}) > params({**base, "growth_stage5": 1})
    assert stage_channels({**base, "growth_stage5": 2})[-1] > stage_channels(base)[-1]


def test_forward_stages_runs_backbone_neck_head_in_order_and_matches_forward() -> None:
    model = build_model(_with_index(None), resolution=64, num_classes=NUM_CLASSES, anchors=ANCHORS)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        stages = model.forward_stages(x)
        direct = model(x)
        by_hand = model.head(model.neck(model.backbone(x)))
    assert list(stages) == ["backbone", "neck", "head"]
    channels = stage_channels(_with_index(None))
    assert [f.shape[1] for f in stages["backbone"]] == channels[2:]
    assert [f.shape[1] for f in stages["neck"]] == [NECK_CHANNELS] * 3
    for key in ("class_logits", "boxes"):
        for a, b, c in zip(stages["head"][key], direct[key], by_hand[key], strict=True):
            assert torch.allclose(a, b) and torch.allclose(a, c)
    assert not model.training


def test_bad_settings_raise_config_errors_naming_the_field() -> None:
    with pytest.raises(ConfigError) as error:
        build_model(_with_index(0), task="segmentation")
    assert error.value.field == "task"
    for field in ("resolution", "num_classes", "anchors"):
        with pytest.raises(ConfigError) as error:
            build_model(_with_index(0), **{field: 0})
        assert error.value.field == field
    incomplete = _with_index(0)
    del incomplete["patch_stage4"]
    with pytest.raises(ConfigError, match="patch_stage4"):
        build_model(incomplete)
