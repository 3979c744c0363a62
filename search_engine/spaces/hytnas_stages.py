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

Architectures of the extended space (``spaces/mobilevit.py``, recognised by its own variables) read
the same way, with their transformer width d on the attention stages' rows and, for classification,
MobileViT's final 1x1 convolution in the head's row; the costs are counted for the network
``nn.hybrid`` builds for them.

Heads: attention uses the largest divisor of the stage's channels not above the heads asked for
(``nn.hybrid.attention_heads``), so the view shows the heads the network uses and notes the request
when it differs.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_engine.spaces import mobilevit
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
    StageColumn("dim", "Transformer width", "d {}"),
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

    E.g. ``stage 3: blocks 2, 48 ch, exp 2, heads 4, FFN 32, patch 2 · 196k params, 210M MACs``;
    lines are joined by ``\\n``. None for an architecture that is not a whole HyT-NAS one. The same
    text as ``summary`` of each ``stage_views`` view, without building the views: a chart's hover
    needs it for up to ten thousand points.
    """
    network = NetworkSetting.from_params(setting or {})
    designs = [_design(a) for a in architectures]
    whole = [(i, d) for i, d in enumerate(designs) if d is not None]
    costs = _costs([d for _, d in whole], network)  # part -> quantity -> (len(whole),)
    out: list[str | None] = [None] * len(architectures)
    if not whole:
        return out
    stages = BACKBONE_PARTS[1:]
    params = [costs[part]["params"].tolist() for part in stages]  # (5, len(whole)) as floats
    macs = [costs[part]["macs"].tolist() for part in stages]
    total_params = np.sum([c["params"] for c in costs.values()], axis=0).tolist()
    total_macs = np.sum([c["macs"] for c in costs.values()], axis=0).tolist()
    for k, (i, design) in enumerate(whole):
        lines = [_line(part, design.stages[part], params[j][k], macs[j][k]) for j, part in enumerate(stages)]
        lines.append(_line("total", (), total_params[k], total_macs[k]))
        out[i] = "\n".join(lines)
    return out


def summary(view: StageView) -> str:
    """The hover summary of one view: ``stage_summaries`` of its architecture."""
    lines = []
    for row in view.rows:
        if row.part in BACKBONE_PARTS[1:] or row.part == "total":
            design = tuple(
                (c.key, row.values[c.key]) for c in DESIGN_COLUMNS if row.values[c.key] is not None
            )
            lines.append(_line(row.part, design, row.values["params"], row.values["macs"]))
    return "\n".join(lines)


@functools.lru_cache(maxsize=32768)  # lines of ~80 characters: a few MB at most
def _line(part: str, design: tuple[tuple[str, float], ...], params: float | None, macs: float | None) -> str:
    """One line of the summary; stages share their few designs, so most lines come from the cache."""
    words = [SHORT[key].format(_short(value)) for key, value in design if value is not None]
    cost = [SHORT["params"].format(_short(params)), SHORT["macs"].format(_short(macs))]
    head = "network" if part == "total" else LABELS[part].lower()
    return f"{head}: " + ", ".join(words) + (" · " if words else "") + ", ".join(cost)


SHORT = {c.key: c.short for c in COLUMNS}


@functools.lru_cache(maxsize=65536)
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
    """The absolute design of one architecture: what the network is built from.

    ``stages`` holds, per backbone part, its ``(column key, value)`` pairs of ``DESIGN_COLUMNS``
    (those it has, in order); ``chosen`` the variables' values as ``part_counts`` reads them.
    """

    chosen: tuple[float, ...]  # _AS_CHOSEN order
    channels: tuple[int, ...]  # stages 1-5
    ffn: tuple[int, ...]  # stages 3-5
    stages: Mapping[str, tuple[tuple[str, float], ...]]
    asked_heads: tuple[int, ...]  # stages 3-5
    dims: tuple[int, ...] | None = None  # stages 3-5, extended space only (else d = the channels)
    final_conv: int = 0  # the classifier's 1x1 convolution (extended space; 0: none)

    @property
    def extended(self) -> bool:
        """An architecture of the extended space (``spaces/mobilevit.py``)."""
        return self.dims is not None


def _design(architecture: Mapping[str, Any] | None) -> _Design | None:
    """The design of a stored architecture, or None when it lacks a variable or holds a non-number."""
    if not isinstance(architecture, Mapping):
        return None
    extended = mobilevit.is_mobilevit_architecture(architecture)
    try:
        chosen = tuple(map(float, _PICK_CHOSEN(architecture)))
        ratios = tuple(map(float, (_PICK_EXTENDED_RATIOS if extended else _PICK_RATIOS)(architecture)))
    except (KeyError, TypeError, ValueError):
        return None
    if not math.isfinite(sum(chosen) + sum(ratios)):  # a NaN or an infinity anywhere makes the sum one
        return None
    return _design_of(chosen, ratios, extended)


def _design_of(chosen: tuple[float, ...], ratios: tuple[float, ...], extended: bool = False) -> _Design:
    """The design from the chosen values and ratios; widths and stages come from small caches."""
    value = dict(zip(_AS_CHOSEN, chosen, strict=True))
    dims: tuple[int, ...] | None = None
    final_conv = 0
    if extended:
        channels, dims, ffn, final_conv = _extended_widths(value["channels_stage1"], ratios)
    else:
        channels, ffn = _widths(value["channels_stage1"], ratios)
    stages: dict[str, tuple[tuple[str, float], ...]] = {
        "stem": (("channels", STEM_CHANNELS),),
        "stage1": _stage_design(1, channels[0], value["expansion_stage1"]),
        "stage2": _stage_design(value["blocks_stage2"], channels[1], value["expansion_stage2"]),
    }
    asked = tuple(int(value[f"heads_stage{stage}"]) for stage in ATTENTION_STAGES)
    for k, stage in enumerate(ATTENTION_STAGES):
        stages[f"stage{stage}"] = _stage_design(
            value[f"blocks_stage{stage}"],
            channels[stage - 1],
            value[f"expansion_stage{stage}"],
            asked[k],
            ffn[k],
            value[f"patch_stage{stage}"],
            None if dims is None else dims[k],
        )
    return _Design(chosen, channels, ffn, stages, asked, dims, final_conv)


@functools.lru_cache(maxsize=16384)
def _widths(stage1_channels: float, ratios: tuple[float, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Cached ``stage_channels`` and ``ffn_widths``: a few thousand combinations exist at most."""
    named = {"channels_stage1": stage1_channels, **dict(zip(_RATIOS, ratios, strict=True))}
    return tuple(stage_channels(named)), tuple(ffn_widths(named))


@functools.lru_cache(maxsize=16384)
def _extended_widths(
    stage1_channels: float, ratios: tuple[float, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
    """Cached widths of an extended-space architecture: channels, transformer and FFN widths, final conv."""
    named = {"channels_stage1": stage1_channels, **dict(zip(_EXTENDED_RATIOS, ratios, strict=True))}
    return (
        tuple(mobilevit.stage_channels(named)),
        tuple(mobilevit.transformer_dims(named)),
        tuple(mobilevit.ffn_widths(named)),
        mobilevit.final_conv_channels(named),
    )


@functools.lru_cache(maxsize=16384)
def _stage_design(
    blocks: float,
    channels: int,
    expansion: float,
    heads: int | None = None,
    ffn_width: int | None = None,
    patch: float | None = None,
    dim: int | None = None,
) -> tuple[tuple[str, float], ...]:
    """A backbone stage's ``(column key, value)`` pairs; the heads are those attention uses.

    ``dim``: the transformer width where it is not the stage's channels (extended space).
    """
    used = None if heads is None else _used_heads(channels if dim is None else dim, heads)
    pairs = (
        ("blocks", blocks),
        ("channels", channels),
        ("expansion", expansion),
        ("heads", used),
        ("dim", dim),
        ("ffn_width", ffn_width),
        ("patch", patch),
    )
    return tuple((key, _num(v)) for key, v in pairs if v is not None)


def _costs(designs: list[_Design], setting: NetworkSetting) -> dict[str, dict[str, np.ndarray]]:
    """Closed-form counts of every part for all designs at once (``hytnas_counts.part_counts``)."""
    if not designs:
        return {}
    columns = dict(zip(_AS_CHOSEN, np.array([d.chosen for d in designs], dtype=np.float64).T, strict=True))
    channels = np.array([d.channels for d in designs], dtype=np.float64)  # (n, 5)
    ffn = np.array([d.ffn for d in designs], dtype=np.float64)  # (n, 3)
    columns.update({f"channels_stage{s}": channels[:, s - 1] for s in range(1, 6)})
    columns.update({f"ffn_width_stage{s}": ffn[:, k] for k, s in enumerate(ATTENTION_STAGES)})
    dims = np.array([d.dims or d.channels[2:] for d in designs], dtype=np.float64)  # (n, 3)
    columns.update({f"dim_stage{s}": dims[:, k] for k, s in enumerate(ATTENTION_STAGES)})
    columns["final_conv_channels"] = np.array([d.final_conv for d in designs], dtype=np.float64)
    resize = np.array([d.extended for d in designs])  # (n,) the extended space resizes to the patch
    return part_counts(columns, setting, resize_patches=resize)


_NAMES = (
    *(f"blocks_stage{s}" for s in (2, 3, 4, 5)),
    *(f"expansion_stage{s}" for s in range(1, 6)),
    *(f"channels_stage{s}" for s in range(1, 6)),
    *(f"heads_stage{s}" for s in ATTENTION_STAGES),
    *(f"ffn_width_stage{s}" for s in ATTENTION_STAGES),
    *(f"patch_stage{s}" for s in ATTENTION_STAGES),
)
"""The feature columns ``part_counts`` reads (``HyTNASSpace.feature_names``)."""
_AS_CHOSEN = (
    *(name for name in _NAMES if not name.startswith(("channels_", "ffn_width_"))),
    "channels_stage1",
)
"""The features that are the variables' values as chosen; the other widths are derived from ratios."""
_RATIOS = (*(f"growth_stage{s}" for s in (2, 3, 4, 5)), *(f"ffn_ratio_stage{s}" for s in ATTENTION_STAGES))
"""The ratio variables the derived widths come from (``stage_channels``, ``ffn_widths``)."""
_EXTENDED_RATIOS = (
    *(f"growth_stage{s}" for s in (2, 3, 4, 5)),
    *(f"dim_ratio_stage{s}" for s in ATTENTION_STAGES),
    *(f"ffn_ratio_stage{s}" for s in ATTENTION_STAGES),
    "final_conv_ratio",
)
"""The extended space's ratio variables (``mobilevit.stage_channels``, ``transformer_dims``, ...)."""
_PICK_CHOSEN = operator.itemgetter(*_AS_CHOSEN)
_PICK_RATIOS = operator.itemgetter(*_RATIOS)
_PICK_EXTENDED_RATIOS = operator.itemgetter(*_EXTENDED_RATIOS)


def _used_heads(channels: int, requested: int) -> int:
    """The largest divisor of ``channels`` not above ``requested`` (``nn.hybrid.attention_heads``)."""
    return max(h for h in range(1, max(1, min(requested, channels)) + 1) if channels % h == 0)


KINDS = {
    "stem": "3×3 convolution, stride 2",
    "stage1": "inverted residual",
    "stage2": "inverted residuals, the first with stride 2",
    **{
        f"stage{s}": "inverted residual (stride 2), then a MobileViT block (transformer layers over patches)"
        for s in ATTENTION_STAGES
    },
}
"""What each backbone part is made of, in words."""
EXTENDED_KINDS = {
    f"stage{s}": "inverted residual (stride 2), then a MobileViT block (transformer layers over patches; "
    "a map not a multiple of the patch is resized to one)"
    for s in ATTENTION_STAGES
}
"""The extended space's attention stages, which resize rather than pad (``spaces/mobilevit.py``)."""


def _view(
    design: _Design,
    costs: Mapping[str, Mapping[str, Any]],
    latency: Mapping[str, Any] | None,
    setting: NetworkSetting,
) -> StageView:
    measured = {str(k): _finite(v) for k, v in (latency or {}).items()}

    def row(
        part: str, kind: str, note: str = "", design_values: tuple[tuple[str, float], ...] = ()
    ) -> StageRow:
        values: dict[str, float | None] = {c.key: None for c in DESIGN_COLUMNS}
        values.update(design_values)
        values.update(params=costs[part]["params"], macs=costs[part]["macs"], latency_ms=measured.get(part))
        return StageRow(part, LABELS[part], kind, values, note)

    rows = []
    for part in BACKBONE_PARTS:
        note = ""
        if part in (f"stage{s}" for s in ATTENTION_STAGES):
            asked = design.asked_heads[ATTENTION_STAGES.index(int(part.removeprefix("stage")))]
            stage = dict(design.stages[part])
            heads = stage["heads"]
            width = f"d = {stage['dim']:g}" if "dim" in stage else f"{stage['channels']:g} channels"
            note = f"{asked} heads asked: {width} split into {heads:g}" if heads != asked else ""
        kind = EXTENDED_KINDS.get(part, KINDS[part]) if design.extended else KINDS[part]
        rows.append(row(part, kind, note, design.stages[part]))
    rows.append(_sum_row("backbone", rows, costs, measured.get("backbone")))
    if setting.task == "classification" and design.final_conv:
        rows.append(
            row(
                "head",
                f"1×1 convolution to {design.final_conv} channels, global average pooling and a linear "
                f"classifier ({setting.num_classes} classes)",
                design_values=(("channels", design.final_conv),),
            )
        )
    elif setting.task == "classification":
        rows.append(
            row("head", f"global average pooling and a linear classifier ({setting.num_classes} classes)")
        )
    else:
        neck = "feature pyramid over stages 3-5 (1×1 laterals, 3×3 smoothing)"
        rows.append(row("neck", neck, design_values=(("channels", NECK_CHANNELS),)))
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
