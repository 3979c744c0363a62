"""The HyT-NAS spaces' closed-form counts against the networks they describe, built and run.

The original space and its extension that reaches MobileViT (``spaces/mobilevit.py``) alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from search_engine.spaces.generic import GenericSpace
from search_engine.spaces.hytnas import HyTNASSpace
from search_engine.spaces.mobilevit import MobileViTSpace
from search_engine.types import NETWORK_STAGES as STAGES  # the stages that have weights
from search_engine.types import Array

torch = pytest.importorskip("torch")

from search_engine.nn.hybrid import Attention, build_model  # noqa: E402

SPACE = HyTNASSpace()
SPACES = {"hytnas": SPACE, "hytnas-mobilevit": MobileViTSpace()}
RESOLUTION = 64
"""Small enough to run a hundred networks in seconds; stage 5's map is 2 x 2, smaller than any patch."""


def _extremes(space: GenericSpace, rng: np.random.Generator) -> Array:
    """The all-lowest and all-highest architectures, and each variable at each end with the rest random."""
    low, high = np.zeros(space.n_vars), np.ones(space.n_vars)
    rows = [low, high]
    for column in range(space.n_vars):
        for end in (0.0, 1.0):
            row = rng.random(space.n_vars)
            row[column] = end
            rows.append(row)
    return space.canonicalize(np.array(rows))


def _architectures(space: GenericSpace = SPACE) -> Array:
    rng = np.random.default_rng(2024)
    return np.vstack([space.sample_uniform(50, rng), _extremes(space, rng)])


def _counted_macs(model: Any, resolution: int) -> dict[str, float]:
    """Multiply-adds per stage, counted per operation while the network runs on one image.

    Convolutions and linear layers from their shapes; attention's ``Q K^T`` and ``A V`` from each
    attention module's input (b sequences of n tokens of width d: 2 b n^2 d), which
    ``FlopCounterMode`` misses on the CPU.
    """
    counts: dict[str, float] = {}
    stage = {"name": ""}

    def conv(module: Any, inputs: Any, output: Any) -> None:
        per_pixel = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        counts[stage["name"]] += output.numel() * per_pixel

    def linear(module: Any, inputs: Any, output: Any) -> None:
        counts[stage["name"]] += output.numel() * module.in_features

    def attention(module: Any, inputs: Any, output: Any) -> None:
        b, n, d = inputs[0].shape
        counts[stage["name"]] += 2 * b * n * n * d

    handles = []
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            handles.append(module.register_forward_hook(conv))
        elif isinstance(module, torch.nn.Linear):
            handles.append(module.register_forward_hook(linear))
        elif isinstance(module, Attention):
            handles.append(module.register_forward_hook(attention))
    image = torch.zeros(1, 3, resolution, resolution)
    with torch.no_grad():
        stage["name"] = "backbone"
        counts["backbone"] = 0.0
        features = model.backbone(image)
        if model.classifier is not None:
            stage["name"] = "head"
            counts["head"] = 0.0
            model.classifier(features)
        else:
            for name in ("neck", "head"):
                stage["name"] = name
                counts[name] = 0.0
                features = getattr(model, name)(features)
    for handle in handles:
        handle.remove()
    return counts


def _built_params(model: Any) -> dict[str, float]:
    parts = {"backbone": model.backbone, "neck": model.neck, "head": model.head or model.classifier}
    return {
        stage: float(sum(p.numel() for p in part.parameters())) if part is not None else 0.0
        for stage, part in parts.items()
    }


def _check_counts(X: Array, task: str, space: GenericSpace = SPACE) -> None:
    setting = {"task": task, "resolution": RESOLUTION, "num_classes": 7, "anchors": 3}
    known = space.known_quantities(X, setting)
    for i, architecture in enumerate(space.decode(X)):
        model = build_model(architecture, task=task, resolution=RESOLUTION, num_classes=7, anchors=3)
        params = _built_params(model)
        macs = _counted_macs(model, RESOLUTION)
        assert known["params"][i] == sum(p.numel() for p in model.parameters()), architecture
        for stage in STAGES:
            assert known[f"params.{stage}"][i] == params[stage], (stage, architecture)
            assert known[f"macs.{stage}"][i] == macs.get(stage, 0.0), (stage, architecture)
        assert known["macs"][i] == sum(macs.values())


@pytest.mark.parametrize("space_name", SPACES)
def test_closed_form_counts_equal_the_built_detection_networks_on_random_and_extreme_architectures(
    one_torch_thread: None, space_name: str
) -> None:
    space = SPACES[space_name]
    _check_counts(_architectures(space), "detection", space)


@pytest.mark.parametrize("space_name", SPACES)
def test_closed_form_counts_equal_the_built_classification_networks(
    one_torch_thread: None, space_name: str
) -> None:
    """The classifier replaces neck and head; the backbone is the detection test's, so fewer suffice.

    In the extended space the classifier's final 1x1 convolution (or its absence) is counted too.
    """
    space = SPACES[space_name]
    _check_counts(
        _architectures(space)[:: 4 if space_name == "hytnas-mobilevit" else 8], "classification", space
    )


@pytest.mark.parametrize("space_name", SPACES)
def test_counts_hold_at_an_odd_resolution_where_patches_pad_or_resize_every_map(
    one_torch_thread: None, space_name: str
) -> None:
    space = SPACES[space_name]
    X = space.sample_uniform(5, np.random.default_rng(7))
    known = space.known_quantities(X, {"resolution": 70})
    for i, architecture in enumerate(space.decode(X)):
        macs = _counted_macs(build_model(architecture, resolution=70), 70)
        assert known["macs"][i] == sum(macs.values())


def test_attention_is_counted_and_grows_with_the_square_of_the_tokens() -> None:
    """Patches of 2 leave 4x the tokens per sequence of patches of 4, so Q K^T costs 4x more per pixel."""
    base = {name: SPACE.variables[j].choices[0] for j, name in enumerate(SPACE.names)}
    small, large = dict(base), dict(base)
    for stage in (3, 4, 5):
        small[f"patch_stage{stage}"], large[f"patch_stage{stage}"] = 4, 2
    X = SPACE.encode([small, large])
    macs = SPACE.known_quantities(X, {"resolution": 256})["macs.backbone"]
    assert macs[1] > macs[0]


def test_peak_activation_memory_grows_with_resolution_and_counts_fp32_bytes() -> None:
    X = SPACE.sample_uniform(10, np.random.default_rng(3))
    at_64 = SPACE.known_quantities(X, {"resolution": 64})["activation_memory"]
    at_128 = SPACE.known_quantities(X, {"resolution": 128})["activation_memory"]
    assert np.all(at_128 > at_64)
    # the stem alone holds the 3 x 64 x 64 image and its 16 x 32 x 32 output at 4 bytes a value
    assert np.all(at_64 >= 4 * (3 * 64 * 64 + 16 * 32 * 32))


def test_the_generic_space_knows_no_quantity_before_measuring() -> None:
    from search_engine.spaces.generic import GenericSpace, Variable

    space = GenericSpace([Variable("x", "float")])
    assert space.known_quantity_units == {}
    assert space.known_quantities(np.array([[0.5]])) == {}
