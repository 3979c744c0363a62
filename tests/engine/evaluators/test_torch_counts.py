"""The torch evaluator's sizes: the closed form, checked against torch's own count of the built network."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from search_engine.evaluators.torch_model import PARTS, SIZE_METRICS, TorchEvaluator  # noqa: E402
from search_engine.nn.hybrid import build_model  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace  # noqa: E402
from search_engine.spaces.mobilevit import MobileViTSpace  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPACE = HyTNASSpace()
RESOLUTION = 64
"""Small enough for dozens of networks in seconds; at 64 px stage 5's 2 x 2 map is padded for every patch."""
N_ARCHITECTURES = {"detection": 32, "classification": 12}
"""Random architectures per task; classification changes only the head, so fewer suffice there."""


def _parts(model: Any) -> list[tuple[str, Any]]:
    return [(name, getattr(model, name)) for name in PARTS if getattr(model, name, None) is not None]


def _flop_counter_macs(model: Any, resolution: int, math_attention: bool) -> dict[str, float]:
    """Multiply-adds per part as ``FlopCounterMode`` counts them while the parts run on one image.

    With ``math_attention`` the attention runs on its math path (explicit matrix products, which the
    counter sees); without it, on the fused CPU kernel the evaluator's old counting pass ran.
    """
    value: Any = torch.zeros(1, 3, resolution, resolution)
    macs: dict[str, float] = {}
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH) if math_attention else contextlib.nullcontext():
        for name, part in _parts(model):
            with FlopCounterMode(display=False) as counter:
                value = part(value)
            macs[name] = counter.get_total_flops() / 2.0  # one multiply-add = two FLOPs
    return macs


def _reported(architectures: list[dict[str, Any]], **params: Any) -> list[dict[str, float]]:
    """The metrics of a quick evaluation (one timed pass, no accuracy) of each architecture."""
    quick = {"resolution": RESOLUTION, "repeats": 1, "max_repeats": 1, "warmup": 0, "accuracy": "none"}
    results = TorchEvaluator(**quick | params).evaluate(architectures)
    assert all(result.ok for result in results), [result.error for result in results]
    return [dict(result.metrics) for result in results]


@pytest.mark.parametrize("space", ["hytnas", "hytnas-mobilevit"])
@pytest.mark.parametrize("task", ["detection", "classification"])
def test_reported_params_and_macs_equal_torchs_count_of_the_built_network_over_random_architectures(
    task: str, space: str
) -> None:
    """Exact equality, not a tolerance: the closed form follows the network layer by layer."""
    searched = SPACE if space == "hytnas" else MobileViTSpace()
    n = N_ARCHITECTURES[task] // (1 if space == "hytnas" else 2)
    architectures = searched.decode(searched.sample_uniform(n, np.random.default_rng(14)))
    reported = _reported(architectures, task=task, num_classes=7, anchors=3, space=space)
    for architecture, sizes in zip(architectures, reported, strict=True):
        model = build_model(architecture, task=task, resolution=RESOLUTION, num_classes=7, anchors=3)
        counted = _flop_counter_macs(model, RESOLUTION, math_attention=True)
        for name, part in _parts(model):
            assert sizes[f"params_{name}"] == sum(p.numel() for p in part.parameters()), (name, architecture)
            assert sizes[f"macs_{name}"] == counted[name], (name, architecture)
        assert sizes["params_total"] == sum(p.numel() for p in model.parameters())
        assert sizes["macs_total"] == sum(counted.values())


def test_attention_heavy_architectures_have_macs_the_fused_kernel_count_missed() -> None:
    """Small patches and four transformer layers per stage at 128 px: attention is a visible share."""
    heavy = {var.name: var.choices[0] for var in SPACE.variables}
    for stage in (3, 4, 5):
        heavy[f"blocks_stage{stage}"], heavy[f"patch_stage{stage}"] = 4, 2
    model = build_model(heavy, resolution=128)
    fused = _flop_counter_macs(model, 128, math_attention=False)
    reported = _reported([heavy], resolution=128)[0]
    missed = reported["macs_backbone"] - fused["backbone"]
    assert missed / reported["macs_backbone"] > 0.05  # attention's Q K^T and A V
    assert reported["macs_neck"] == fused["neck"] and reported["macs_head"] == fused["head"]  # no attention


def test_an_evaluation_reports_every_size_per_part_with_peak_activation_memory() -> None:
    architecture = {var.name: var.choices[-1] for var in SPACE.variables}
    metrics = _reported([architecture])[0]
    expected = SPACE.known_quantities(SPACE.encode([architecture]), {"resolution": RESOLUTION})
    for prefix, (quantity, whole) in SIZE_METRICS.items():
        for part in ("backbone", "neck", "head"):
            assert metrics[f"{prefix}_{part}"] == expected[f"{quantity}.{part}"][0] > 0
        assert metrics[whole] == expected[quantity][0]
    peaks = [metrics[f"peak_activation_bytes_{part}"] for part in ("backbone", "neck", "head")]
    assert metrics["peak_activation_bytes"] == max(peaks)
    # the stem's input and output alone, fp32: a floor any honest peak clears
    assert metrics["peak_activation_bytes_backbone"] >= 4 * (3 * 64 * 64 + 16 * 32 * 32)
