"""A HyT-NAS architecture read as its network, stage by stage: what each stage is made of and costs.

This is the one declaration of the per-stage view; the architecture page, the Pareto chart's hover
and the side-by-side comparison all derive from it. Rows are the network's parts in execution order
(``hytnas_counts.PARTS``: stem, stages 1-5, neck, head) with a ``backbone`` subtotal after stage 5
and a ``total`` last. Columns are the stage's design (``DESIGN_COLUMNS``: blocks, channels,
expansion, attention heads, FFN width, patch size; a stage that has no such thing leaves it None)
and its cost (``COST_COLUMNS``): parameters and multiply-adds in closed form (``hytnas_counts``, for
the network the ``torch`` evaluator builds with the study's task and resolution), and the latency
the evaluation measured for that part. Evaluators report latency per stage of ``types.STAGES``
(backbone, neck, head), so it lands on the ``backbone``, ``neck`` and ``head`` rows; one that
reports ``stage1`` ... ``stage5`` too gets those on the stages' rows.

Heads: attention uses the largest divisor of the stage's channels not above the heads asked for
(``nn.hybrid.attention_heads``), so the view shows the heads the network uses and notes the request
when it differs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_engine.spaces.hytnas import ATTENTION_STAGES, ffn_widths, stage_channels
from search_engine.spaces.hytnas_counts import (
    BACKBONE_PARTS,
    NECK_CHANNELS,
    STEM_CHANNELS,
    NetworkSetting,
    part_counts,
)
from search_engine.types import STAGES


@dataclass(frozen=True)
class StageColumn:
    """One column of the view: its key in ``StageRow.values``, its heading, its hover form."""

    key: str
    label: str
    short: str
    """``str.format`` pattern of the value in the one-line hover summary (``"{} ch"``)."""
    cost: bool = False


DESIGN_COLUMNS = (
    StageColumn("blocks", "Blocks", "blocks {}"),
    StageColumn("channels", "Channels", "{} ch"),
    StageColumn("expansion", "Expansion", "exp {}"),
    StageColumn("heads", "Heads", "heads {}"),
    StageColumn("ffn_width", "FFN width", "FFN {}"),
    StageColumn("patch", "Patch", "patch {}"),
)
COST_COLUMNS = (
    StageColumn("params", "Parameters", "{} params", cost=True),
    StageColumn("macs", "Multiply-adds", "{} MACs", cost=True),
    StageColumn("latency_ms", "Latency (ms)", "{} ms", cost=True),
)
COLUMNS = (*DESIGN_COLUMNS, *COST_COLUMNS)
"""Every column, in display order."""

LABELS = {
    "stem": "Stem",
    **{f"stage{s}": f"Stage {s}" for s in range(1, 6)},
    "backbone": "Backbone",
    "neck": "Neck",
    "head": "Head",
    "total": "Whole network",
}
SUBTOTALS = ("backbone", "total")
"""Rows that sum the rows above them rather than describe a part."""


@dataclass(frozen=True)
class StageRow:
    """One part of the network (or a subtotal): its kind in words and its values by column key."""

    part: str
    label: str
    kind: str
    values: Mapping[str, float | None]
    note: str = ""

    @property
    def subtotal(self) -> bool:
        return self.part in SUBTOTALS


@dataclass(frozen=True)
class StageView:
    """The network of one architecture, row by row, and the setting its costs were counted for."""

    rows: tuple[StageRow, ...]
    setting: NetworkSetting

    @property
    def columns(self) -> tuple[StageColumn, ...]:
        """The columns some row has a value in (latency only when something was measured)."""
        return tuple(c for c in COLUMNS if any(row.values.get(c.key) is not None for row in self.rows))

    @property
    def table(self) -> tuple[tuple[StageRow, tuple[tuple[StageColumn, float | None], ...]], ...]:
        """Each row with its ``(column, value)`` cells in ``columns`` order, as a table draws them."""
        columns = self.columns
        return tuple((row, tuple((c, row.values.get(c.key)) for c in columns)) for row in self.rows)

    def row(self, part: str) -> StageRow:
        """The row of ``part`` (a key of ``LABELS``)."""
        return next(row for row in self.rows if row.part == part)


def stage_views(
    architectures: Sequence[Mapping[str, Any] | None],
    setting: Mapping[str, Any] | None = None,
    stage_latency: Sequence[Mapping[str, Any] | None] | None = None,
) -> list[StageView | None]:
    """The view of each architecture (None for one that is not a whole HyT-NAS architecture).

    Args:
        architectures: decoded architectures (variable name -> value), as stored.
        setting: the evaluator's parameters (task, resolution, classes, anchors); None: defaults.
        stage_latency: per architecture, the measured ms by stage (``EvaluationResult.stage_latency``).
    """
    network = NetworkSetting.from_params(setting or {})
    designs = [_design(a) for a in architectures]
    whole = [(i, d) for i, d in enumerate(designs) if d is not None]
    costs = _costs([d for _, d in whole], network)  # part -> quantity -> (len(whole),)
    latencies = list(stage_latency) if stage_latency is not None else [None] * len(architectures)
    views: list[StageView | None] = [None] * len(architectures)
    for k, (i, design) in enumerate(whole):
        mine = {part: {name: float(values[k]) for name, values in c.items()} for part, c in costs.items()}
        views[i] = _view(design, mine, latencies[i], network)
    return views


def stage_view(
    architecture: Mapping[str, Any] | None,
    setting: Mapping[str, Any] | None = None,
    stage_latency: Mapping[str, Any] | None = None,
) -> StageView | None:
    """``stage_views`` of one architecture."""
    return stage_views([architecture], setting, [stage_latency])[0]


def stage_summaries(
    architectures: Sequence[Mapping[str, Any] | None], setting: Mapping[str, Any] | None = None
) -> list[str | None]:
    """A compact per-stage summary of each architecture, one line per backbone stage and a total.

    E.g. ``stage 3: blocks 2, 48 ch, exp 2, heads 4, FFN 32, patch 2 · 45.1k params, 12.3M MACs``; lines
    are joined by ``\\n``. None for an architecture that is not a whole HyT-NAS one.
    """
    return [None if view is None else summary(view) for view in stage_views(architectures, setting)]


def summary(view: StageView) -> str:
    """``stage_summaries`` of one view."""
    lines = []
    for row in view.rows:
        if row.part not in BACKBONE_PARTS[1:] and row.part != "total":
            continue
        design = [
            c.short.format(_short(row.values[c.key])) for c in DESIGN_COLUMNS if row.values[c.key] is not None
        ]
        cost = [c.short.format(_short(row.values[c.key])) for c in COST_COLUMNS[:2]]
        head = row.label.lower() if row.part != "total" else "network"
        lines.append(f"{head}: " + ", ".join(design) + (" · " if design else "") + ", ".join(cost))
    return "\n".join(lines)


def _short(value: float | None) -> str:
    """``45.1k``, ``12.3M``, ``1.2G`` for counts; small numbers as they are (``1.5``, ``4``)."""
    if value is None:
        return "—"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:g}"


@dataclass(frozen=True)
class _Design:
    """The absolute design of one architecture: what the network is built from."""

    architecture: Mapping[str, Any]
    channels: list[int]  # stages 1-5
    ffn: list[int]  # stages 3-5


def _design(architecture: Mapping[str, Any] | None) -> _Design | None:
    if not isinstance(architecture, Mapping):
        return None
    try:
        channels = stage_channels(dict(architecture))
        ffn = ffn_widths(dict(architecture))
        if not all(math.isfinite(float(architecture[name])) for name in _AS_CHOSEN):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return _Design(architecture, channels, ffn)


def _costs(designs: list[_Design], setting: NetworkSetting) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form counts of every part for all designs at once (``hytnas_counts.part_counts``)."""
    columns: dict[str, list[float]] = {name: [] for name in _NAMES}
    for design in designs:
        values = {name: float(design.architecture[name]) for name in _AS_CHOSEN}
        values.update({f"channels_stage{s}": c for s, c in enumerate(design.channels, start=1)})
        values.update({f"ffn_width_stage{s}": w for s, w in zip(ATTENTION_STAGES, design.ffn, strict=True)})
        for name in columns:
            columns[name].append(values[name])
    if not designs:
        return {}
    return part_counts({k: np.array(v) for k, v in columns.items()}, setting)


_NAMES = (
    *(f"blocks_stage{s}" for s in (2, 3, 4, 5)),
    *(f"expansion_stage{s}" for s in range(1, 6)),
    *(f"channels_stage{s}" for s in range(1, 6)),
    *(f"heads_stage{s}" for s in ATTENTION_STAGES),
    *(f"ffn_width_stage{s}" for s in ATTENTION_STAGES),
    *(f"patch_stage{s}" for s in ATTENTION_STAGES),
)
"""The feature columns ``part_counts`` reads (``HyTNASSpace.feature_names``)."""
_AS_CHOSEN = tuple(name for name in _NAMES if not name.startswith(("channels_", "ffn_width_")))
"""The features that are the variables' values as chosen; the widths are derived from ratios."""


def _used_heads(channels: int, requested: int) -> int:
    """The largest divisor of ``channels`` not above ``requested`` (``nn.hybrid.attention_heads``)."""
    return max(h for h in range(1, max(1, min(requested, channels)) + 1) if channels % h == 0)


def _view(
    design: _Design,
    costs: Mapping[str, Mapping[str, Any]],
    latency: Mapping[str, Any] | None,
    setting: NetworkSetting,
) -> StageView:
    arch = design.architecture
    measured = {str(k): _finite(v) for k, v in (latency or {}).items()}

    def row(part: str, kind: str, note: str = "", **design_values: float | None) -> StageRow:
        cost = costs[part]
        values = {c.key: design_values.get(c.key) for c in DESIGN_COLUMNS}
        values.update(params=float(cost["params"]), macs=float(cost["macs"]), latency_ms=measured.get(part))
        return StageRow(part, LABELS[part], kind, values, note)

    rows = [
        row("stem", "3×3 convolution, stride 2", channels=STEM_CHANNELS),
        row(
            "stage1",
            "inverted residual",
            blocks=1,
            channels=design.channels[0],
            expansion=_num(arch["expansion_stage1"]),
        ),
        row(
            "stage2",
            "inverted residuals, the first with stride 2",
            blocks=_num(arch["blocks_stage2"]),
            channels=design.channels[1],
            expansion=_num(arch["expansion_stage2"]),
        ),
    ]
    for k, stage in enumerate(ATTENTION_STAGES):
        channels = design.channels[stage - 1]
        asked = int(arch[f"heads_stage{stage}"])
        heads = _used_heads(channels, asked)
        note = f"{asked} heads asked: {channels} channels split into {heads}" if heads != asked else ""
        rows.append(
            row(
                f"stage{stage}",
                "inverted residual (stride 2), then a MobileViT block (transformer layers over patches)",
                note,
                blocks=_num(arch[f"blocks_stage{stage}"]),
                channels=channels,
                expansion=_num(arch[f"expansion_stage{stage}"]),
                heads=heads,
                ffn_width=design.ffn[k],
                patch=_num(arch[f"patch_stage{stage}"]),
            )
        )
    rows.append(_sum_row("backbone", rows, costs, measured.get("backbone")))
    if setting.task == "classification":
        rows.append(
            row("head", f"global average pooling and a linear classifier ({setting.num_classes} classes)")
        )
    else:
        rows.append(
            row(
                "neck",
                "feature pyramid over stages 3-5 (1×1 laterals, 3×3 smoothing)",
                channels=NECK_CHANNELS,
            )
        )
        rows.append(
            row(
                "head",
                "SSD-lite class and box predictors per level "
                f"({setting.anchors} anchors, {setting.num_classes} classes)",
            )
        )
    parts = [r for r in rows if not r.subtotal]
    reported = [measured.get(stage) for stage in STAGES if any(r.part == stage for r in rows)]
    total_ms = sum(v for v in reported if v is not None) if all(v is not None for v in reported) else None
    rows.append(_sum_row("total", parts, costs, total_ms))
    return StageView(tuple(rows), setting)


def _sum_row(
    part: str, rows: Sequence[StageRow], costs: Mapping[str, Mapping[str, Any]], latency_ms: float | None
) -> StageRow:
    """The backbone (stem and stages 1-5) or the whole network: costs summed, latency as measured."""
    summed = [r for r in rows if r.part in costs and (part != "backbone" or r.part in BACKBONE_PARTS)]
    values: dict[str, float | None] = {c.key: None for c in DESIGN_COLUMNS}
    values["params"] = float(sum(float(costs[r.part]["params"]) for r in summed))
    values["macs"] = float(sum(float(costs[r.part]["macs"]) for r in summed))
    values["latency_ms"] = latency_ms
    kind = "stem and stages 1-5" if part == "backbone" else "every part above"
    return StageRow(part, LABELS[part], kind, values)


def _num(value: Any) -> float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
