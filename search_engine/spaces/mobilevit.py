"""The HyT-NAS space extended to reach MobileViT: 27 choice variables, registry key ``hytnas-mobilevit``.

The original 23-variable space (``spaces/hytnas.py``) ties the transformer width to the stage's
channels and the FFN width to a power of two, grows channels by x1, x1.5 or x2 only, zero-pads
feature maps that are not a multiple of the patch and classifies straight from stage 5. None of
MobileViT-XXS, XS or S (Mehta & Rastegari, ICLR 2022) is in it. This space keeps the original's
layout (stem, inverted-residual stages 1-2, MobileViT stages 3-5, the same neck and head) and
changes what MobileViT needs:

- ``growth_stageN`` steps by the ratios MobileViT's own widths step by, ``RATIOS`` (x1, x6/5, x5/4,
  x4/3, x3/2, x2): channels of stage s = round(channels of stage s-1 x growth);
- ``dim_ratio_stageN``: the transformer width d = round(stage channels x ratio), same ``RATIOS``;
- ``ffn_ratio_stageN``: the FFN width = round(d x ratio) (``FFN_RATIOS``; MobileViT uses 2);
- ``final_conv_ratio``: classification networks end, as MobileViT's do, with a 1x1 convolution
  (BN, SiLU) to round(stage 5 channels x ratio) channels before pooling (``FINAL_CONV_RATIOS``;
  0: none; MobileViT uses 4). Detection networks leave it out, as MobileViT's SSDLite does, so for
  them the variable changes nothing;
- a feature map whose side is not a multiple of the patch is resized (bilinear) to the next
  multiple before unfolding and back after folding, as MobileViT v1 does, instead of zero-padded.

Rounding is Python's ``round`` (halves to even), on whole numbers chained stage by stage, and
numpy's ``round`` in the vectorised counts, which agree. ``REFERENCES`` declares MobileViT-XXS,
XS and S in this space (widths, depths, expansions, heads and patches from the reference
implementation, apple/ml-cvnets ``cvnets/models/classification/config/mobilevit.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search_engine.spaces.generic import GenericSpace, Variable
from search_engine.spaces.hytnas import BLOCKS, EXPANSIONS, HEADS, PATCHES, STAGE1_CHANNELS
from search_engine.spaces.hytnas_counts import QUANTITY_UNITS, NetworkSetting, network_counts
from search_engine.types import Architecture, Array

SPACE_NAME = "hytnas-mobilevit"

RATIOS = (1, 1.2, 1.25, 4 / 3, 1.5, 2)
"""Channel growth and transformer-width ratios: XXS steps its widths by 3/2, 2, 4/3, 5/4 (and its
transformer widths by 4/3, 5/4, 6/5), XS and S by 3/2, 4/3, 5/4, 6/5 and 2."""
FFN_RATIOS = (1, 1.5, 2, 3, 4)
"""FFN width over the transformer width (MobileViT: 2; ViT: 4)."""
FINAL_CONV_RATIOS = (0, 2, 4, 6)
"""Width of the classifier's 1x1 convolution over stage 5's channels (0: none; MobileViT: 4)."""

ATTENTION_STAGES = (3, 4, 5)
OWN_VARIABLES = (*(f"dim_ratio_stage{s}" for s in ATTENTION_STAGES), "final_conv_ratio")
"""The variables only this space has: an architecture carrying them is built as one of its networks."""


def _mobilevit_variables() -> list[Variable]:
    """The 27 variables: the original's order, the transformer ratios after the heads, the final conv last."""
    groups: list[tuple[str, tuple[int, ...], tuple[Any, ...]]] = [
        ("blocks_stage{}", (2, 3, 4, 5), BLOCKS),
        ("expansion_stage{}", (1, 2, 3, 4, 5), EXPANSIONS),
        ("channels_stage{}", (1,), STAGE1_CHANNELS),
        ("growth_stage{}", (2, 3, 4, 5), RATIOS),
        ("heads_stage{}", ATTENTION_STAGES, HEADS),
        ("dim_ratio_stage{}", ATTENTION_STAGES, RATIOS),
        ("ffn_ratio_stage{}", ATTENTION_STAGES, FFN_RATIOS),
        ("patch_stage{}", ATTENTION_STAGES, PATCHES),
    ]
    variables = [
        Variable(pattern.format(stage), "choice", choices=choices)
        for pattern, stages, choices in groups
        for stage in stages
    ]
    return [*variables, Variable("final_conv_ratio", "choice", choices=FINAL_CONV_RATIOS)]


def is_mobilevit_architecture(architecture: Mapping[str, Any]) -> bool:
    """True when ``architecture`` carries this space's own variables (``OWN_VARIABLES``)."""
    return all(name in architecture for name in OWN_VARIABLES)


def stage_channels(architecture: Mapping[str, Any]) -> list[int]:
    """Output channels of stages 1-5: round(previous x growth), stage by stage."""
    channels = [int(architecture["channels_stage1"])]
    for stage in (2, 3, 4, 5):
        channels.append(round(channels[-1] * float(architecture[f"growth_stage{stage}"])))
    return channels


def transformer_dims(architecture: Mapping[str, Any]) -> list[int]:
    """Transformer width d of stages 3-5: round(stage channels x ``dim_ratio_stageN``)."""
    channels = stage_channels(architecture)
    return [
        round(channels[stage - 1] * float(architecture[f"dim_ratio_stage{stage}"]))
        for stage in ATTENTION_STAGES
    ]


def ffn_widths(architecture: Mapping[str, Any]) -> list[int]:
    """FFN hidden width of stages 3-5: round(d x ``ffn_ratio_stageN``)."""
    dims = transformer_dims(architecture)
    return [
        round(dims[k] * float(architecture[f"ffn_ratio_stage{stage}"]))
        for k, stage in enumerate(ATTENTION_STAGES)
    ]


def final_conv_channels(architecture: Mapping[str, Any]) -> int:
    """Output channels of the classifier's 1x1 convolution (0: the network has none)."""
    return round(stage_channels(architecture)[4] * float(architecture["final_conv_ratio"]))


def _reference(
    stage1: int,
    growth: tuple[float, ...],
    blocks: tuple[int, ...],
    expansion: int,
    dim_ratios: tuple[float, ...],
) -> dict[str, Any]:
    """A MobileViT v1 model in this space: 3 stage-2 blocks, 4 heads, patch 2, FFN 2 d, final conv 4 x."""
    architecture: dict[str, Any] = {f"blocks_stage{s}": b for s, b in zip((2, 3, 4, 5), blocks, strict=True)}
    architecture.update({f"expansion_stage{s}": expansion for s in range(1, 6)})
    architecture["channels_stage1"] = stage1
    architecture.update({f"growth_stage{s}": g for s, g in zip((2, 3, 4, 5), growth, strict=True)})
    architecture.update({f"heads_stage{s}": 4 for s in ATTENTION_STAGES})
    architecture.update({f"dim_ratio_stage{s}": r for s, r in zip(ATTENTION_STAGES, dim_ratios, strict=True)})
    architecture.update({f"ffn_ratio_stage{s}": 2 for s in ATTENTION_STAGES})
    architecture.update({f"patch_stage{s}": 2 for s in ATTENTION_STAGES})
    architecture["final_conv_ratio"] = 4
    return architecture


REFERENCES: dict[str, Architecture] = {
    # channels 16, 24, 48, 64, 80; transformer widths 64, 80, 96; final conv 320
    "MobileViT-XXS": _reference(16, (1.5, 2, 4 / 3, 1.25), (3, 2, 4, 3), 2, (4 / 3, 1.25, 1.2)),
    # channels 32, 48, 64, 80, 96; transformer widths 96, 120, 144; final conv 384
    "MobileViT-XS": _reference(32, (1.5, 4 / 3, 1.25, 1.2), (3, 2, 4, 3), 4, (1.5, 1.5, 1.5)),
    # channels 32, 64, 96, 128, 160; transformer widths 144, 192, 240; final conv 640
    "MobileViT-S": _reference(32, (2, 1.5, 4 / 3, 1.25), (3, 2, 4, 3), 4, (1.5, 1.5, 1.5)),
}
"""MobileViT v1's three sizes, as architectures of this space (name -> decoded architecture)."""


@dataclass(eq=False)
class MobileViTSpace(GenericSpace):
    """The 27-variable extended HyT-NAS space; architectures are dicts keyed by the variable names.

    It has no parameters: its variables are fixed, so the field is not a constructor keyword.
    """

    variables: list[Variable] = field(init=False, default_factory=_mobilevit_variables)

    def to_spec(self) -> dict[str, Any]:
        return {"name": SPACE_NAME, "params": {}}

    @property
    def feature_names(self) -> list[str]:
        """The variable names, except the ratios, whose features are the absolute widths they give.

        ``growth_stage3`` -> ``channels_stage3``, ``dim_ratio_stage3`` -> ``dim_stage3``,
        ``ffn_ratio_stage3`` -> ``ffn_width_stage3``, ``final_conv_ratio`` -> ``final_conv_channels``.
        """
        renames = {
            "growth_": "channels_",
            "dim_ratio_": "dim_",
            "ffn_ratio_": "ffn_width_",
            "final_conv_ratio": "final_conv_channels",
        }
        names = []
        for name in self.names:
            for old, new in renames.items():
                name = name.replace(old, new)
            names.append(name)
        return names

    def _features(self, X: Array) -> Array:
        """``(n, 27)``: the chosen values, with absolute channels, transformer and FFN widths."""
        values = np.array(self._column_values(X), dtype=np.float64).T  # (n, 27) raw choice values
        out = values.copy()
        channels = values[:, 9]  # stage 1
        for offset in range(4):  # stages 2-5: round(previous x growth)
            channels = np.round(channels * values[:, 10 + offset])
            out[:, 10 + offset] = channels
        out[:, 17:20] = np.round(out[:, 11:14] * values[:, 17:20])  # transformer widths d
        out[:, 20:23] = np.round(out[:, 17:20] * values[:, 20:23])  # FFN widths
        out[:, 26] = np.round(out[:, 13] * values[:, 26])  # final 1x1 convolution
        return out

    @property
    def known_quantity_units(self) -> dict[str, str]:
        """Parameters, multiply-adds, peak activation memory: per stage and in total (``hytnas_counts``)."""
        return dict(QUANTITY_UNITS)

    def _known_quantities(self, X: Array, setting: Mapping[str, Any]) -> dict[str, Array]:
        """Closed-form counts of the network the evaluator with parameters ``setting`` would build."""
        columns = dict(zip(self.feature_names, self._features(X).T, strict=True))
        return network_counts(columns, NetworkSetting.from_params(setting), resize_patches=True)

    def reference_points(self) -> dict[str, Array]:
        """Each of ``REFERENCES`` as its canonical ``(n_vars,)`` point."""
        X = self.encode(list(REFERENCES.values()))
        return dict(zip(REFERENCES, X, strict=True))
