"""Closed-form size of a HyT-NAS network: parameters, multiply-adds and peak activation memory per stage.

Computed from the decoded architecture alone, vectorised over many architectures and without
building the network (nor importing torch), layer by layer as ``search_engine.nn.hybrid`` builds it:

- a convolution of ``c_in -> c_out`` channels, kernel ``k``, ``groups`` groups, producing an
  ``h x w`` map has ``c_out * c_in / groups * k^2`` weights (+ ``c_out`` bias) and as many
  multiply-adds per output pixel; its BatchNorm adds 2 parameters per channel (running statistics
  are buffers, not parameters) and no multiply-adds, like SiLU, pooling, additions and LayerNorm;
- a ``d -> e`` linear layer has ``d * e + e`` parameters and ``d * e`` multiply-adds per token;
- self-attention over ``n`` tokens of width ``d`` adds, beyond its linear layers, the two matrix
  products ``Q K^T`` and ``A V``: ``n^2 d`` multiply-adds each per sequence, whatever the number of
  heads. A MobileViT block attends over ``p^2`` sequences of ``n = (H'/p)(W'/p)`` tokens, where
  ``H' x W'`` is the feature map padded (or resized, ``resize_patches``) to a multiple of the patch ``p``.

The features are those of either space: the HyT-NAS space's (``spaces/hytnas.py``), whose transformer
width is the stage's channels, or the extended space's (``spaces/mobilevit.py``), which also carries
the transformer widths ``dim_stage3..5`` and the classifier's 1x1 convolution ``final_conv_channels``
(0: none), and resizes rather than pads (``resize_patches=True``: the two bilinear resizes add to the
working set, not to the multiply-adds, which count multiplications of weights and attention only).

Peak activation memory models one thing: the largest working set of any single operation at batch
1, i.e. its input plus its output activations (for attention: Q, K, V, the ``heads * n^2`` score
matrix of each sequence and the output), in bytes at ``bytes_per_value`` (4: fp32). It ignores
tensors kept alive across operations (residual inputs, the pyramid's other levels) and whatever a
runtime fuses or frees early, so it is a lower bound on a device's activation arena, useful to rank
architectures and to bound them, not a figure to read as the exact memory of one runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from search_engine.types import NETWORK_STAGES as STAGES  # counted stages: post-processing has no weights
from search_engine.types import Array

STEM_CHANNELS = 16
"""Output channels of the network's stem (``search_engine.nn.hybrid`` builds it with this)."""
NECK_CHANNELS = 64
"""Width of the network's FPN neck (``search_engine.nn.hybrid`` builds it with this)."""

Ints = npt.NDArray[np.int64]

BACKBONE_PARTS = ("stem", "stage1", "stage2", "stage3", "stage4", "stage5")
"""The backbone's parts in execution order: ``part_counts`` counts each, the ``backbone`` is their sum."""
PARTS = (*BACKBONE_PARTS, *STAGES[1:])
"""Every part ``part_counts`` counts: the backbone's parts, then the neck and the head."""

QUANTITY_UNITS: dict[str, str] = {
    **{name: "parameters" for name in ("params", *(f"params.{s}" for s in STAGES))},
    **{name: "multiply-adds" for name in ("macs", *(f"macs.{s}" for s in STAGES))},
    **{name: "bytes" for name in ("activation_memory", *(f"activation_memory.{s}" for s in STAGES))},
}
"""Every quantity ``network_counts`` returns, with its unit; the bare name is the whole network."""


@dataclass(frozen=True)
class NetworkSetting:
    """What shapes the network besides the architecture: the evaluator's task and input.

    The defaults are the ``torch`` evaluator's. A classification network's classifier counts as its
    ``head`` (as its latency does) and it has no neck.
    """

    task: str = "detection"
    resolution: int = 224
    num_classes: int = 10
    anchors: int = 6
    bytes_per_value: int = 4

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> NetworkSetting:
        """The setting of an evaluator with these parameters; those it lacks take the defaults."""
        default = cls()
        return cls(
            task=str(params.get("task", default.task)),
            resolution=int(params.get("resolution", default.resolution)),
            num_classes=int(params.get("num_classes", default.num_classes)),
            anchors=int(params.get("anchors", default.anchors)),
        )


class _Tally:
    """Running per-part totals of parameters and multiply-adds and the per-part memory peak.

    Layers count towards ``stage``, the part of ``PARTS`` being walked. Every method takes
    ``active``, an ``(n,)`` mask (or True) of the architectures that have the layer: a stage's
    blocks and transformer layers vary in number between architectures.
    """

    def __init__(self, n: int) -> None:
        self.params = {part: np.zeros(n) for part in PARTS}
        self.macs = {part: np.zeros(n) for part in PARTS}
        self.memory = {part: np.zeros(n) for part in PARTS}  # peak working set, in values
        self.stage = PARTS[0]

    def conv(
        self,
        c_in: Any,
        c_out: Any,
        kernel: int,
        pixels: tuple[Any, Any],
        *,
        groups: Any = 1,
        after: str = "bn",
        active: Any = True,
    ) -> None:
        """One convolution; ``pixels`` = (input, output) pixels; ``after``: ``bn``, ``bias`` or ``none``."""
        weights = c_out * (c_in // groups) * kernel * kernel
        extra = {"bn": 2 * c_out, "bias": c_out, "none": 0}[after]
        self.params[self.stage] += np.where(active, weights + extra, 0)
        self.macs[self.stage] += np.where(active, weights * pixels[1], 0)
        self.peak(c_in * pixels[0] + c_out * pixels[1], active)

    def linear(self, d_in: Any, d_out: Any, tokens: Any, active: Any = True) -> None:
        """One linear layer with bias over ``tokens`` rows."""
        self.params[self.stage] += np.where(active, d_in * d_out + d_out, 0)
        self.macs[self.stage] += np.where(active, d_in * d_out * tokens, 0)
        self.peak((d_in + d_out) * tokens, active)

    def add(self, params: Any = 0, macs: Any = 0, active: Any = True) -> None:
        """Parameters (LayerNorm) or multiply-adds (attention's products) outside a layer above."""
        self.params[self.stage] += np.where(active, params, 0)
        self.macs[self.stage] += np.where(active, macs, 0)

    def peak(self, values: Any, active: Any = True) -> None:
        """Raise the stage's peak to ``values`` (in activation values) where larger."""
        np.maximum(self.memory[self.stage], np.where(active, values, 0), out=self.memory[self.stage])


def _heads(dim: Ints, requested: Ints) -> Ints:
    """Vectorised ``nn.hybrid.attention_heads``: the largest divisor of ``dim`` <= ``requested``."""
    heads = np.ones_like(dim)
    for h in range(1, int(requested.max(initial=1)) + 1):
        ok = (h <= requested) & (h <= dim) & (dim % h == 0)
        heads = np.where(ok, h, heads)
    return heads


def _side(side: int, stride: int) -> int:
    """Output side of a 'same'-padded odd-kernel convolution: floor((s - 1) / stride) + 1."""
    return (side - 1) // stride + 1


def _inverted_residual(
    tally: _Tally, c_in: Any, c_out: Any, expansion: Any, side: int, stride: int, active: Any = True
) -> int:
    """Expand 1x1 (absent at expansion 1), depthwise 3x3 with ``stride``, project 1x1; the output side."""
    out_side = _side(side, stride)
    hidden = c_in * expansion  # expansions are whole numbers, so round() in the network is exact
    square, strided = side * side, out_side * out_side
    tally.conv(c_in, hidden, 1, (square, square), active=active & (expansion != 1))
    tally.conv(hidden, hidden, 3, (square, strided), groups=hidden, active=active)
    tally.conv(hidden, c_out, 1, (strided, strided), active=active)
    return out_side


def _mobilevit_block(
    tally: _Tally,
    channels: Ints,
    layers: Ints,
    heads: Ints,
    ffn: Ints,
    patch: Ints,
    side: int,
    dim: Ints,
    resize: Any = False,
) -> None:
    """Local 3x3 + 1x1 to d, ``layers`` transformer layers over patches, project, fuse."""
    pixels = (side * side, side * side)
    tally.conv(channels, channels, 3, pixels)
    tally.conv(channels, dim, 1, pixels, after="none")
    padded = -(-side // patch) * patch  # (n,) side padded to a multiple of the patch
    tally.peak(dim * (side * side + padded * padded), resize & (padded != side))  # a bilinear resize
    sequences = patch * patch
    tokens = (padded // patch) ** 2  # per sequence
    rows = sequences * tokens  # tokens over all sequences = padded pixels
    scores = _heads(dim, heads) * sequences * tokens * tokens
    for depth in range(int(layers.max(initial=0))):
        active = layers > depth
        tally.add(params=2 * dim, active=active)  # LayerNorm before attention
        tally.linear(dim, 3 * dim, rows, active)  # Q, K, V
        tally.add(macs=2 * sequences * tokens * tokens * dim, active=active)  # Q K^T and A V
        tally.peak(4 * dim * rows + scores, active)  # Q, K, V, scores, output
        tally.linear(dim, dim, rows, active)  # attention output
        tally.add(params=2 * dim, active=active)  # LayerNorm before the FFN
        tally.linear(dim, ffn, rows, active)
        tally.linear(ffn, dim, rows, active)
    tally.add(params=2 * dim)  # the transformer's final LayerNorm
    tally.conv(dim, channels, 1, pixels)  # project back, on the cropped map
    tally.conv(2 * channels, channels, 3, pixels)  # fusion of input and projection


def network_counts(
    features: Mapping[str, Array], setting: NetworkSetting, resize_patches: Any = False
) -> dict[str, Array]:
    """Every quantity of ``QUANTITY_UNITS`` for ``n`` architectures, as ``(n,)`` float64 arrays.

    Args:
        features: the HyT-NAS feature columns by name (``HyTNASSpace.feature_names``: absolute
            channels ``channels_stage1..5`` and FFN widths ``ffn_width_stage3..5``, the other
            variables' values; optionally ``dim_stage3..5`` and ``final_conv_channels``, as
            ``MobileViTSpace.feature_names`` has them), each ``(n,)``.
        setting: task, input resolution, classes and anchors of the network.
        resize_patches: True (or an ``(n,)`` mask): maps are resized to a multiple of the patch
            rather than padded (the extended space's networks).
    """
    return _totals(_walk(features, setting, resize_patches), setting.bytes_per_value)


def part_counts(
    features: Mapping[str, Array], setting: NetworkSetting, resize_patches: Any = False
) -> dict[str, dict[str, Array]]:
    """``{part: {"params", "macs", "activation_memory"}}`` per part of ``PARTS``, each ``(n,)`` float64.

    The same count as ``network_counts`` (same arguments), split finer: the backbone's stem and
    stages 1-5 each on their own, so a page can show what every stage of the network costs.
    """
    tally = _walk(features, setting, resize_patches)
    return {
        part: {
            "params": tally.params[part].astype(np.float64),
            "macs": tally.macs[part].astype(np.float64),
            "activation_memory": (tally.memory[part] * setting.bytes_per_value).astype(np.float64),
        }
        for part in PARTS
    }


def _walk(features: Mapping[str, Array], setting: NetworkSetting, resize_patches: Any = False) -> _Tally:
    """Every layer of the network, in order, tallied into its part of ``PARTS``."""
    column = {name: np.asarray(values).astype(np.int64) for name, values in features.items()}
    tally = _Tally(len(column["channels_stage1"]))
    channels = [column[f"channels_stage{s}"] for s in range(1, 6)]
    resize = np.asarray(resize_patches, dtype=bool)
    side = _side(setting.resolution, 2)
    tally.conv(3, STEM_CHANNELS, 3, (setting.resolution**2, side * side))
    tally.stage = "stage1"
    side = _inverted_residual(tally, STEM_CHANNELS, channels[0], column["expansion_stage1"], side, 1)
    blocks2 = column["blocks_stage2"]
    tally.stage = "stage2"
    side = _inverted_residual(tally, channels[0], channels[1], column["expansion_stage2"], side, 2)
    for depth in range(1, int(blocks2.max(initial=1))):
        _inverted_residual(
            tally, channels[1], channels[1], column["expansion_stage2"], side, 1, blocks2 > depth
        )
    level_sides: list[int] = []
    for stage in (3, 4, 5):
        tally.stage = f"stage{stage}"
        side = _inverted_residual(
            tally, channels[stage - 2], channels[stage - 1], column[f"expansion_stage{stage}"], side, 2
        )
        _mobilevit_block(
            tally,
            channels[stage - 1],
            column[f"blocks_stage{stage}"],
            column[f"heads_stage{stage}"],
            column[f"ffn_width_stage{stage}"],
            column[f"patch_stage{stage}"],
            side,
            column.get(f"dim_stage{stage}", channels[stage - 1]),
            resize,
        )
        level_sides.append(side)
    if setting.task == "classification":
        tally.stage = "head"
        final = column.get("final_conv_channels", np.zeros_like(channels[4]))  # 0: no final conv
        square = level_sides[-1] ** 2
        tally.conv(channels[4], final, 1, (square, square), active=final > 0)
        pooled = np.where(final > 0, final, channels[4])
        tally.peak(pooled * square + pooled)  # global average pooling
        tally.linear(pooled, setting.num_classes, 1)
    else:
        _detection(tally, channels[2:], level_sides, setting)
    return tally


def _detection(
    tally: _Tally, level_channels: list[Ints], level_sides: list[int], setting: NetworkSetting
) -> None:
    """FPN neck (1x1 laterals with bias, 3x3 smoothing) and SSD-lite head per pyramid level."""
    tally.stage = "neck"
    for c_level, side in zip(level_channels, level_sides, strict=True):
        pixels = (side * side, side * side)
        tally.conv(c_level, NECK_CHANNELS, 1, pixels, after="bias")
        tally.conv(NECK_CHANNELS, NECK_CHANNELS, 3, pixels)
    tally.stage = "head"
    for side in level_sides:
        pixels = (side * side, side * side)
        for outputs in (setting.anchors * setting.num_classes, setting.anchors * 4):
            tally.conv(NECK_CHANNELS, NECK_CHANNELS, 3, pixels, groups=NECK_CHANNELS)
            tally.conv(NECK_CHANNELS, outputs, 1, pixels, after="bias")


def _totals(tally: _Tally, bytes_per_value: int) -> dict[str, Array]:
    """Per stage (the backbone's parts folded into ``backbone``) and for the whole network."""
    out: dict[str, Array] = {}
    for stage in STAGES:
        parts = BACKBONE_PARTS if stage == STAGES[0] else (stage,)
        out[f"params.{stage}"] = np.sum([tally.params[p] for p in parts], axis=0).astype(np.float64)
        out[f"macs.{stage}"] = np.sum([tally.macs[p] for p in parts], axis=0).astype(np.float64)
        peak = np.max([tally.memory[p] for p in parts], axis=0)
        out[f"activation_memory.{stage}"] = (peak * bytes_per_value).astype(np.float64)
    out["params"] = sum((out[f"params.{s}"] for s in STAGES), start=np.zeros(len(out["params.head"])))
    out["macs"] = sum((out[f"macs.{s}"] for s in STAGES), start=np.zeros(len(out["macs.head"])))
    out["activation_memory"] = np.max([out[f"activation_memory.{s}"] for s in STAGES], axis=0)
    return out
