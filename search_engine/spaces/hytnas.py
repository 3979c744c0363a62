"""The HyT-NAS hybrid convolution/attention space: 23 choice variables (see DESIGN.md).

Stages 1-2 are inverted-residual convolution blocks, stages 3-5 MobileViT blocks. The cube encodes
*ratios* (channel growth, FFN width ratio) so every point is a valid network; ``features`` expands
them to the absolute widths that measured tables record (the convention of the HyT-NAS data:
channels of stage s = int(channels of stage s-1 x growth), FFN width = largest power of two <= the
stage's channels, times the FFN ratio).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search_engine.spaces.generic import GenericSpace, Variable
from search_engine.spaces.hytnas_counts import QUANTITY_UNITS, NetworkSetting, network_counts
from search_engine.types import Array

BLOCKS = (1, 2, 3, 4)
EXPANSIONS = (1, 2, 4)
STAGE1_CHANNELS = (8, 16, 24, 32)
GROWTHS = (1, 1.5, 2)
HEADS = (1, 2, 4)
FFN_RATIOS = (1, 1.5, 2)
PATCHES = (2, 4, 8)

ATTENTION_STAGES = (3, 4, 5)


def _hytnas_variables() -> list[Variable]:
    """The 23 variables in DESIGN.md's column order."""
    groups: list[tuple[str, tuple[int, ...], tuple[Any, ...]]] = [
        ("blocks_stage{}", (2, 3, 4, 5), BLOCKS),
        ("expansion_stage{}", (1, 2, 3, 4, 5), EXPANSIONS),
        ("channels_stage{}", (1,), STAGE1_CHANNELS),
        ("growth_stage{}", (2, 3, 4, 5), GROWTHS),
        ("heads_stage{}", ATTENTION_STAGES, HEADS),
        ("ffn_ratio_stage{}", ATTENTION_STAGES, FFN_RATIOS),
        ("patch_stage{}", ATTENTION_STAGES, PATCHES),
    ]
    return [
        Variable(pattern.format(stage), "choice", choices=choices)
        for pattern, stages, choices in groups
        for stage in stages
    ]


def largest_power_of_two_at_most(n: int) -> int:
    """2^floor(log2 n) for n >= 1."""
    return 1 << (int(n).bit_length() - 1)


def stage_channels(architecture: dict[str, Any]) -> list[int]:
    """Output channels of stages 1-5 of a decoded architecture."""
    channels = [int(architecture["channels_stage1"])]
    for stage in (2, 3, 4, 5):
        channels.append(int(channels[-1] * float(architecture[f"growth_stage{stage}"])))
    return channels


def ffn_widths(architecture: dict[str, Any]) -> list[int]:
    """FFN hidden width of the attention stages 3-5 of a decoded architecture."""
    channels = stage_channels(architecture)
    return [
        int(
            largest_power_of_two_at_most(channels[stage - 1]) * float(architecture[f"ffn_ratio_stage{stage}"])
        )
        for stage in ATTENTION_STAGES
    ]


@dataclass(eq=False)
class HyTNASSpace(GenericSpace):
    """The 23-variable HyT-NAS space; architectures are dicts keyed by the variable names.

    It has no parameters: its variables are fixed, so the field is not a constructor keyword.
    """

    variables: list[Variable] = field(init=False, default_factory=_hytnas_variables)

    def to_spec(self) -> dict[str, Any]:
        return {"name": "hytnas", "params": {}}

    @property
    def feature_names(self) -> list[str]:
        """The variable names, except where the features hold absolute widths instead of ratios.

        ``growth_stage3`` -> ``channels_stage3`` and ``ffn_ratio_stage3`` -> ``ffn_width_stage3``;
        ``channels_stage1`` is already a width and keeps its name.
        """
        return [n.replace("growth_", "channels_").replace("ffn_ratio_", "ffn_width_") for n in self.names]

    def _features(self, X: Array) -> Array:
        """The 23 columns of the HyT-NAS measurement tables (absolute channels and FFN widths)."""
        values = np.array(self._column_values(X), dtype=np.float64).T  # (n, 23) raw choice values
        out = values.copy()
        channels = values[:, 9].astype(np.int64)  # stage 1
        for offset in range(4):  # stages 2-5: int(previous x growth), as the tables record them
            channels = (channels * values[:, 10 + offset]).astype(np.int64)
            out[:, 10 + offset] = channels
        stage_channels_3_to_5 = out[:, 11:14].astype(np.int64)
        powers = 2 ** np.floor(np.log2(np.maximum(stage_channels_3_to_5, 1)))
        out[:, 17:20] = np.floor(powers * values[:, 17:20])
        return out

    @property
    def known_quantity_units(self) -> dict[str, str]:
        """Parameters, multiply-adds, peak activation memory: per stage and in total (``hytnas_counts``)."""
        return dict(QUANTITY_UNITS)

    def _known_quantities(self, X: Array, setting: Mapping[str, Any]) -> dict[str, Array]:
        """Closed-form counts of the network the evaluator with parameters ``setting`` would build."""
        features = self._features(X)  # (n, 23)
        columns = dict(zip(self.feature_names, features.T, strict=True))
        return network_counts(columns, NetworkSetting.from_params(setting))
