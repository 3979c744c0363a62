"""Engine chart data -> Plotly figure dicts (``{"data": [...], "layout": {...}}``) for every page.

The study dashboard's figures come first, the compare page's (one trace per study) last; all draw
from one palette.

Plotly renders a subset of HTML in hover labels, titles and axis labels, so every piece of user
text (study, objective and variable names, units) goes through ``escape`` first; numbers are
rounded to six significant digits to keep pages light. Trace order in the Pareto figure is part of
the contract with static/js/dashboard.js: trace 0 holds every shown point (extended in place when
new evaluations arrive), the traces after it (front, reference point, predicted values) are
replaced whole.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from search_engine.types import PHASES, STAGES  # plain names; the engine's computing stays in services

if TYPE_CHECKING:  # only the record types: the services package is what calls the engine
    from search_engine.metrics.charts import (
        FidelitySeries,
        HypervolumeSeries,
        ParetoChartData,
        StageLatencyData,
        TimingSeries,
    )
    from search_engine.metrics.importance import Axis as GridAxis
    from search_engine.metrics.importance import Contour as ContourData
    from search_engine.metrics.importance import ObjectiveImportance
    from search_engine.metrics.importance import Slice as SliceData
    from search_engine.objectives import Objective

Figure = dict[str, Any]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
"""Plotly's default colour order; compared studies take one each, in the order they are listed."""

FRONT_COLOUR = PALETTE[3]
REFERENCE_COLOUR = "#444444"
PREDICTED_COLOUR = PALETTE[1]
STAGE_COLOURS = dict(zip(STAGES, (PALETTE[0], PALETTE[2], PALETTE[4], PALETTE[5]), strict=True))
PHASE_COLOURS = dict(zip(PHASES, (PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[4]), strict=True))
BASE_LAYOUT: dict[str, Any] = {
    "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
    "hovermode": "closest",
    "legend": {"orientation": "h", "y": -0.2},
}


def escape(text: Any) -> str:
    """User text made inert for Plotly's HTML-ish labels: ``<``, ``>``, ``&`` escaped, no ``%{`` templates."""
    return html.escape(str(text), quote=False).replace("{", "&#123;").replace("}", "&#125;")


def hover_lines(text: Any) -> str:
    """User text for a hover label, escaped, its line breaks (a network's stages) as Plotly's ``<br>``."""
    return escape(text).replace("\n", "<br>")


def rounded(values: Any) -> list[Any]:
    """Floats with six significant digits (None for non-finite), so JSON stays short and valid."""
    return [None if not math.isfinite(v) else float(f"{v:.6g}") for v in np.asarray(values, float).ravel()]


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {**BASE_LAYOUT, "title": {"text": title}, "uirevision": "keep", **extra}


def axis_label(objective: Objective) -> str:
    """``latency (ms) ↓`` with the name and unit escaped."""
    arrow = "↑" if objective.direction == "max" else "↓"
    return escape(objective.label()) + f" {arrow}"


def _value_lines(objectives: Sequence[Objective], axes: Sequence[str]) -> str:
    """Hover lines ``name = %{x:.4g} unit`` for each objective on its axis."""
    return "<br>".join(
        f"{escape(o.name)} = %{{{axis}:.4g}}{' ' + escape(o.unit) if o.unit else ''}"
        for o, axis in zip(objectives, axes, strict=False)
    )


def pareto_points(
    data: ParetoChartData, texts: Sequence[str], rows: Sequence[int] | None = None
) -> dict[str, Any]:
    """Columns of trace 0 for ``rows`` of the shown points (all by default): x, y (z), color, ids, text.

    ``texts`` are compact architectures, one per shown point, escaped here.
    """
    index = np.arange(data.ids.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    iterations = data.iterations[index].tolist()
    columns: dict[str, Any] = {
        "ids": data.ids[index].tolist(),
        "color": iterations,
        "text": [
            f"{proposed_by(it)}<br>{hover_lines(texts[i])}"
            for it, i in zip(iterations, index.tolist(), strict=True)
        ],
    }
    for axis, j in zip(("x", "y", "z"), range(min(3, len(data.objectives))), strict=False):
        columns[axis] = rounded(data.Y[index, j])
    if len(data.objectives) > 3:
        columns["values"] = [rounded(data.Y[index, j]) for j in range(len(data.objectives))]
    return columns


BEFORE_THE_SEARCH = -1
"""The iteration index points measured before the search (imported, copied from a study) are drawn at."""


def proposed_by(iteration: int) -> str:
    """Where a point came from, for its hover: ``iteration 3``, ``initial design`` or ``imported``."""
    if iteration <= BEFORE_THE_SEARCH:
        return "measured before the search (imported or copied)"
    return "initial design" if iteration == 0 else f"iteration {iteration}"


def iteration_colour_bar(iterations: Any) -> dict[str, Any]:
    """A colour bar with whole-number ticks (about eight at most), titled for points from before the search.

    Iterations are whole numbers, so ticks at 0.5 would name nothing; the step grows with the span.
    """
    values = np.asarray(iterations, dtype=np.int64)
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    title = "iteration" + (" (−1: imported)" if low <= BEFORE_THE_SEARCH else "")
    return {
        "title": {"text": title},
        "tickmode": "linear",
        "tick0": 0,
        "dtick": max(1, math.ceil((high - low + 1) / 8)),
    }


def pareto_figure(
    data: ParetoChartData,
    texts: Sequence[str],
    predicted: tuple[Sequence[int], Any] | None = None,
    broken: Sequence[str] = (),
    bounds: Sequence[tuple[int, float, str]] = (),
    references: Sequence[tuple[int, str, Sequence[float]]] = (),
) -> Figure:
    """Every point coloured by iteration, the front joined, the reference point and predicted values.

    Args:
        data: points and front from ``search_engine.metrics.charts.pareto_chart_data``.
        texts: compact architecture per shown point (user text: escaped here).
        predicted: ``(ids, mean (n, m))`` of the latest batch in own units, overlaid on demand
            (legend toggle); None when the surrogate predicts no values.
        broken: per point of ``data.infeasible``, the bounds it breaks in words (greyed over).
        bounds: ``(objective index, value, label)`` of each bound on a plotted objective, drawn
            as a dashed line across the chart (2-D charts; the layout survives live updates).
        references: ``(id, name, objectives)`` of each measured reference architecture (e.g.
            MobileViT-XXS), drawn as a labelled star over its point.
    """
    m = len(data.objectives)
    if m > 3:
        return _parcoords(data)
    points = pareto_points(data, texts)
    axes = ("x", "y", "z")[:m]
    hover = "#%{customdata} · %{text}<br>" + _value_lines(data.objectives, axes)
    trace: dict[str, Any] = {
        "type": "scatter" if m < 3 else "scatter3d",
        "mode": "markers",
        "name": "evaluated",
        "customdata": points["ids"],
        "text": points["text"],
        "hovertemplate": hover + "<extra></extra>",
        "marker": {
            "color": points["color"],
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": iteration_colour_bar(points["color"]),
            "size": 6 if m < 3 else 3,
            "opacity": 0.75,
        },
    }
    for axis in axes:
        trace[axis] = points[axis]
    if m == 1:
        trace["y"] = [0.0] * len(points["x"])
    layout = _layout(pareto_title(data), uirevision="pareto", showlegend=True)
    if m == 3:
        layout["scene"] = {
            f"{axis}axis": {"title": {"text": axis_label(o)}}
            for axis, o in zip(axes, data.objectives, strict=True)
        }
        layout["scene"]["camera"] = THREE_D_CAMERA
    else:
        layout["xaxis"] = {"title": {"text": axis_label(data.objectives[0])}}
        layout["yaxis"] = {"title": {"text": axis_label(data.objectives[1]) if m > 1 else ""}}
    if m < 3 and bounds:
        layout["shapes"] = [_bound_line(axis, value) for axis, value, _ in bounds if axis < m]
        layout["annotations"] = [_bound_note(axis, value, label) for axis, value, label in bounds if axis < m]
    front_texts = [texts[i] for i in data.front.tolist()]
    overlays = pareto_overlays(data, front_texts, predicted, broken, references)
    return {"data": [trace, *overlays], "layout": layout}


THREE_D_CAMERA: dict[str, Any] = {"eye": {"x": 1.6, "y": 1.6, "z": 1.2}}
"""Where a 3-D front is seen from: farther than Plotly's default (1.25, 1.25, 1.25), whose nearest
corner of the cube, with its tick labels, falls outside the chart and is cut off."""


BOUND_COLOUR = "#555555"
INFEASIBLE_COLOUR = "#b0b0b0"


def _bound_line(axis: int, value: float) -> dict[str, Any]:
    """A dashed line across the chart at a bound on the x (``axis`` 0) or y (1) objective."""
    v = rounded([value])[0]
    line = {"type": "line", "line": {"color": BOUND_COLOUR, "width": 1.5, "dash": "dash"}}
    if axis == 0:
        return {**line, "xref": "x", "yref": "paper", "x0": v, "x1": v, "y0": 0, "y1": 1}
    return {**line, "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": v, "y1": v}


def _bound_note(axis: int, value: float, label: str) -> dict[str, Any]:
    """The bound's words beside its line."""
    v = rounded([value])[0]
    note = {"text": escape(label), "showarrow": False, "font": {"color": BOUND_COLOUR, "size": 11}}
    if axis == 0:
        return {**note, "xref": "x", "yref": "paper", "x": v, "y": 1, "yanchor": "bottom"}
    return {**note, "xref": "paper", "yref": "y", "x": 1, "y": v, "xanchor": "right", "yanchor": "bottom"}


def pareto_title(data: ParetoChartData, n_measured: int | None = None, sampled: bool | None = None) -> str:
    """How many points are non-dominated and measured, and whether the rest is sampled.

    ``n_measured`` and ``sampled`` override what ``data`` says, for data that holds only the front
    and the newest points (a live update).
    """
    n = data.n_measured if n_measured is None else n_measured
    if data.infeasible.shape[0] and not data.front.shape[0]:
        return f"No measured architecture meets every bound yet ({n} measured, greyed): no feasible front"
    title = f"Pareto front: {int(data.front.shape[0])} non-dominated of {n} measured"
    if data.infeasible.shape[0]:
        title += f", {int(data.infeasible.shape[0])} shown breaking a bound (grey)"
    if data.thinned if sampled is None else sampled:
        title += " (the whole front; a sample of the rest)"
    return title


def pareto_overlays(
    data: ParetoChartData,
    front_texts: Sequence[str],
    predicted: tuple[Sequence[int], Any] | None = None,
    broken: Sequence[str] = (),
    references: Sequence[tuple[int, str, Sequence[float]]] = (),
) -> list[dict[str, Any]]:
    """Traces 1.. of the Pareto figure: the joined front, the reference point, the predicted values,
    the points breaking a bound, greyed over their trace-0 markers, and last the reference
    architectures (``references``: id, name, objectives), labelled stars over their points.

    ``front_texts`` are the front's compact architectures in ``data.front`` order, ``broken`` the
    bounds each point of ``data.infeasible`` breaks, in words (both escaped here).
    """
    m = len(data.objectives)
    if m > 3:
        return []
    axes = ("x", "y", "z")[:m]
    kind = "scatter" if m < 3 else "scatter3d"
    front = data.front.tolist()
    values = _value_lines(data.objectives, axes)
    front_trace: dict[str, Any] = {
        "type": kind,
        # A line through the front is its staircase in 2-D; through 3-D space it joins nothing.
        "mode": "lines+markers" if m < 3 else "markers",
        "name": "Pareto front",
        "customdata": data.ids[front].tolist(),
        "text": [hover_lines(text) for text in front_texts],
        "hovertemplate": "#%{customdata} · on the front<br>%{text}<br>" + values + "<extra></extra>",
        "marker": {"color": FRONT_COLOUR, "size": 9 if m < 3 else 5, "line": {"width": 1, "color": "#fff"}},
        "line": {"color": FRONT_COLOUR, "width": 2},
    }
    for j, axis in enumerate(axes):
        front_trace[axis] = rounded(data.Y[front, j])
    traces = [front_trace]
    if data.ref_point is not None:
        ref: dict[str, Any] = {
            "type": kind,
            "mode": "markers",
            "name": "reference point",
            "hovertemplate": "reference point<br>" + values + "<extra></extra>",
            "marker": {"symbol": "x", "size": 10 if m < 3 else 5, "color": REFERENCE_COLOUR},
        }
        for j, axis in enumerate(axes):
            ref[axis] = rounded([data.ref_point[j]])
        traces.append(ref)
    if predicted is not None and len(predicted[0]):
        mean = np.asarray(predicted[1], dtype=float).reshape(len(predicted[0]), m)
        overlay: dict[str, Any] = {
            "type": kind,
            "mode": "markers",
            "name": "predicted (latest batch)",
            "visible": "legendonly",
            "customdata": [int(i) for i in predicted[0]],
            "hovertemplate": "#%{customdata} · predicted before measuring<br>" + values + "<extra></extra>",
            "marker": {"symbol": "diamond-open", "size": 8 if m < 3 else 4, "color": PREDICTED_COLOUR},
        }
        for j, axis in enumerate(axes):
            overlay[axis] = rounded(mean[:, j])
        traces.append(overlay)
    if data.infeasible.shape[0]:
        traces.append(_infeasible_trace(data, kind, axes, values, broken))
    if references:
        traces.append(_references_trace(references, kind, axes, values))
    return traces


REFERENCE_ARCHITECTURE_COLOUR = "#d62728"


def _references_trace(
    references: Sequence[tuple[int, str, Sequence[float]]], kind: str, axes: Sequence[str], values: str
) -> dict[str, Any]:
    """The reference architectures (MobileViT-XXS, ...): stars named beside them, in a legend entry."""
    names = [escape(name) for _, name, _ in references]
    trace: dict[str, Any] = {
        "type": kind,
        "mode": "markers+text",
        "name": "reference architectures",
        "customdata": [int(pk) for pk, _, _ in references],
        "text": names,
        "textposition": "top center",
        "hovertemplate": "#%{customdata} · %{text} (reference)<br>" + values + "<extra></extra>",
        "marker": {
            "symbol": "star",
            "size": 14 if kind == "scatter" else 6,
            "color": REFERENCE_ARCHITECTURE_COLOUR,
            "line": {"width": 1, "color": "#fff"},
        },
    }
    for j, axis in enumerate(axes):
        trace[axis] = rounded([objectives[j] for _, _, objectives in references])
    if len(axes) == 1:
        trace["y"] = [0.0] * len(references)
    return trace


def _infeasible_trace(
    data: ParetoChartData, kind: str, axes: Sequence[str], values: str, broken: Sequence[str]
) -> dict[str, Any]:
    """The points breaking a bound, grey, their hover naming each bound broken and by how much."""
    rows = data.infeasible.tolist()
    texts = [escape(text) for text in broken] if len(broken) == len(rows) else ["breaks a bound"] * len(rows)
    trace: dict[str, Any] = {
        "type": kind,
        "mode": "markers",
        "name": "breaks a bound",
        "customdata": data.ids[rows].tolist(),
        "text": texts,
        "hovertemplate": "#%{customdata} · breaks %{text}<br>" + values + "<extra></extra>",
        "marker": {"color": INFEASIBLE_COLOUR, "size": 7 if kind == "scatter" else 3, "opacity": 1.0},
    }
    for j, axis in enumerate(axes):
        trace[axis] = rounded(data.Y[rows, j])
    if len(axes) == 1:
        trace["y"] = [0.0] * len(rows)
    return trace


def _parcoords(data: ParetoChartData) -> Figure:
    """More than three objectives: one line per architecture, the front highlighted."""
    on_front = np.zeros(data.ids.shape[0])
    on_front[data.front] = 1.0
    ref = data.ref_point
    dimensions = [
        {
            "label": axis_label(o) + ("" if ref is None else f" (ref {ref[j]:.4g})"),
            "values": rounded(data.Y[:, j]),
        }
        for j, o in enumerate(data.objectives)
    ]
    trace = {
        "type": "parcoords",
        "line": {
            "color": on_front.tolist(),
            "colorscale": [[0.0, "#c7d2e0"], [1.0, FRONT_COLOUR]],
            "cmin": 0,
            "cmax": 1,
        },
        "dimensions": dimensions,
    }
    return {
        "data": [trace],
        "layout": _layout(pareto_title(data) + " (red: the front)", uirevision="pareto"),
    }


def hypervolume_figure(series: HypervolumeSeries, objectives: Sequence[Objective]) -> Figure | None:
    """Hypervolume (or log10 difference to the true front) vs evaluations, switchable to vs iteration."""
    if not series.iterations:
        return None
    if series.log_difference is not None:
        y, y_title = series.log_difference, "log10(true HV − HV)"
        title = f"Log hypervolume difference (true front's HV {series.true_hypervolume:.6g})"
    else:
        y, y_title, title = series.hypervolume, "hypervolume", "Hypervolume"
    if series.ref_point is not None:
        names = ", ".join(escape(o.name) for o in objectives)
        title += (
            f"<br><sub>reference point ({names}) = ({', '.join(f'{v:.6g}' for v in series.ref_point)})</sub>"
        )
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": y_title,
        "x": list(series.n_evaluations),
        "y": rounded(y),
        "customdata": list(series.iterations),
        "hovertemplate": "iteration %{customdata}<br>%{x} evaluations<br>"
        + y_title
        + " %{y:.6g}<extra></extra>",
    }
    buttons = [
        {
            "label": "vs evaluations",
            "method": "update",
            "args": [{"x": [list(series.n_evaluations)]}, {"xaxis.title.text": "evaluations"}],
        },
        {
            "label": "vs iteration",
            "method": "update",
            "args": [{"x": [list(series.iterations)]}, {"xaxis.title.text": "iteration"}],
        },
    ]
    layout = _layout(
        title,
        xaxis={"title": {"text": "evaluations"}},
        yaxis={"title": {"text": y_title}},
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 1,
                "xanchor": "right",
                "y": -0.2,
                "yanchor": "top",
                "buttons": buttons,
            }
        ],
        margin={**BASE_LAYOUT["margin"], "t": 80, "b": 90},
        showlegend=False,
    )
    return {"data": [trace], "layout": layout}


def stage_latency_figure(data: StageLatencyData) -> Figure | None:
    """Stacked backbone / neck / head latency of the front's architectures, sorted by total."""
    if not data.front_ids:
        return None
    labels = [f"#{i}" for i in data.front_ids]
    traces = [
        {
            "type": "bar",
            "name": stage,
            "x": labels,
            "y": rounded([row[k] for row in data.latency]),
            "marker": {"color": STAGE_COLOURS.get(stage)},
            "hovertemplate": f"%{{x}} {stage}: %{{y:.4g}} ms<extra></extra>",
        }
        for k, stage in enumerate(data.stages)
    ]
    layout = _layout(
        "Per-stage latency of the Pareto front (sorted by total)",
        barmode="stack",
        xaxis={"title": {"text": "architecture"}, "type": "category"},
        yaxis={"title": {"text": "latency (ms)"}},
    )
    return {"data": traces, "layout": layout}


def stage_share_figure(data: StageLatencyData) -> Figure | None:
    """Distribution of the backbone's share of total latency over every evaluated architecture."""
    if not data.backbone_share:
        return None
    trace = {
        "type": "histogram",
        "name": "backbone share",
        "x": rounded(data.backbone_share),
        "xbins": {"start": 0.0, "end": 1.0, "size": 0.025},
        "marker": {"color": STAGE_COLOURS[STAGES[0]]},
        "hovertemplate": "share %{x}<br>%{y} architectures<extra></extra>",
    }
    layout = _layout(
        f"Backbone share of latency ({len(data.backbone_share)} architectures)",
        xaxis={"title": {"text": "backbone latency / total latency"}, "range": [0, 1]},
        yaxis={"title": {"text": "architectures"}},
    )
    return {"data": [trace], "layout": layout}


def fidelity_figure(series: FidelitySeries) -> Figure | None:
    """Kendall tau of every objective on one panel, then each objective's RMSE on a panel of its own.

    Rank correlations share a scale (-1..1); errors do not (1 % of accuracy beside 150 ms of latency
    would be a flat line), so each objective's RMSE gets its own axis, in its own units. The panels are
    short, so each is named by a line of text above it rather than by a rotated axis title, which would
    run into its neighbours' once a name is longer than its panel is high.
    """
    if not series.available:
        return None
    iterations = list(series.iterations)
    with_errors = [name for name in series.objectives if any(v is not None for v in series.rmse[name])]
    panel, gap = 1.0 / (1 + len(with_errors)), 0.12
    layout = _layout(
        "Surrogate fidelity: predicted vs measured, per batch",
        xaxis={
            "title": {"text": "iteration"},
            **({"dtick": 1} if len(iterations) <= 20 else {}),  # every iteration labelled while they fit
            "anchor": f"y{len(with_errors) + 1}" if with_errors else "y",
        },
        yaxis={"range": [-1.05, 1.05], "domain": [1 - panel + gap / 2, 1.0]},
        annotations=[],
    )
    _name_panel(layout, "Kendall τ", 1.0)
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": f"{escape(name)}: Kendall τ",
            "x": iterations,
            "y": list(series.kendall_tau[name]),
            "hovertemplate": f"iteration %{{x}}<br>{escape(name)} Kendall τ %{{y:.3f}}<extra></extra>",
        }
        for name in series.objectives
    ]
    for k, name in enumerate(with_errors, start=2):
        top = 1 - (k - 1) * panel
        layout[f"yaxis{k}"] = {
            "domain": [max(0.0, top - panel + gap / 2), top - gap / 2],
            "rangemode": "tozero",
        }
        _name_panel(layout, f"{escape(name)} RMSE", top - gap / 2)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "line": {"dash": "dot"},
                "name": f"{escape(name)}: RMSE",
                "x": iterations,
                "y": list(series.rmse[name]),
                "yaxis": f"y{k}",
                "hovertemplate": f"iteration %{{x}}<br>{escape(name)} RMSE %{{y:.4g}}<extra></extra>",
            }
        )
    return {"data": traces, "layout": layout}


def _name_panel(layout: dict[str, Any], text: str, top: float) -> None:
    """A panel's name as one line of text just above its top edge (``top``, in the figure's fraction)."""
    layout["annotations"].append(
        {
            "text": text,
            "xref": "paper",
            "yref": "paper",
            "x": 0,
            "y": top,
            "xanchor": "left",
            "yanchor": "bottom",
            "showarrow": False,
        }
    )


def timing_figure(series: TimingSeries) -> Figure | None:
    """Seconds of fit / solve / select / evaluate per iteration, stacked."""
    if not series.iterations:
        return None
    iterations = list(series.iterations)
    traces = [
        {
            "type": "bar",
            "name": phase,
            "x": iterations,
            "y": rounded(series.seconds[phase]),
            "marker": {"color": PHASE_COLOURS.get(phase)},
            "hovertemplate": f"iteration %{{x}} {phase}: %{{y:.3g}} s<extra></extra>",
        }
        for phase in series.seconds
    ]
    layout = _layout(
        "Time per iteration",
        barmode="stack",
        xaxis={"title": {"text": "iteration"}, "dtick": 1},
        yaxis={"title": {"text": "seconds"}},
    )
    return {"data": traces, "layout": layout}


# --- the compare page: one trace (or one colour) per study ---


_STUDY_EXTRA = "<extra>%{fullData.name}</extra>"
"""Hover box side label: the trace's (escaped) study name."""


def study_colour(i: int) -> str:
    """The colour of the ``i``-th compared study, the same in every figure."""
    return PALETTE[i % len(PALETTE)]


def compare_hypervolume_figure(
    names: Sequence[str], series: Sequence[HypervolumeSeries], ref_point: Sequence[float]
) -> Figure:
    """Hypervolume vs evaluations, one line per study, the common reference point in the title.

    Args:
        names: the studies' names (user text: escaped here), in the order they are compared.
        series: each study's curve, recomputed at the common reference point ``ref_point`` (own units).
    """
    ref_text = "(" + ", ".join(f"{v:.4g}" for v in ref_point) + ")"
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": escape(name),
            "x": list(one.n_evaluations),
            "y": list(one.hypervolume),
            "text": [f"iteration {i}" for i in one.iterations],
            "hovertemplate": "%{x} evaluations, %{text}<br>hypervolume %{y:.6g}" + _STUDY_EXTRA,
            "line": {"color": study_colour(i)},
        }
        for i, (name, one) in enumerate(zip(names, series, strict=True))
    ]
    return {
        "data": traces,
        "layout": {
            "title": {"text": f"Hypervolume at the common reference point {ref_text}"},
            "xaxis": {"title": {"text": "evaluations"}, "rangemode": "tozero"},
            "yaxis": {"title": {"text": "hypervolume"}, "rangemode": "tozero"},
            "legend": {"orientation": "h"},
            "margin": {"t": 50, "r": 20},
        },
    }


def compare_front_figure(
    names: Sequence[str],
    objectives: Sequence[Objective],
    fronts: Sequence[Any],
    ref_point: Sequence[float] | None,
) -> tuple[Figure | None, str]:
    """Measured fronts overlaid, and a note: a scatter for two objectives, parallel coordinates beyond.

    Args:
        names: the studies' names (user text: escaped here).
        objectives: the objectives every compared study measures.
        fronts: per study, ``(k, n_objectives)`` front points in own units (``k`` may be 0).
        ref_point: the common reference point in own units, marked on a two-objective scatter.
    """
    labels = [escape(o.label()) for o in objectives]
    if not any(front.shape[0] for front in fronts):
        return None, "No study has a measured front yet."
    if len(objectives) == 1:
        return None, "With one objective the front is a single best value per study (see the table)."
    if len(objectives) > 2:
        return _compare_parcoords(names, fronts, labels), (
            f"{len(objectives)} objectives: the fronts are drawn as parallel coordinates, one line per "
            "front architecture, coloured by study (the first axis names the study)."
        )
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": escape(name),
            "x": front[:, 0].tolist(),
            "y": front[:, 1].tolist(),
            "line": {"color": study_colour(i), "shape": "linear"},
            "hovertemplate": f"{labels[0]}: %{{x:.6g}}<br>{labels[1]}: %{{y:.6g}}" + _STUDY_EXTRA,
        }
        for i, (name, front) in enumerate(zip(names, fronts, strict=True))
    ]
    if ref_point:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "reference point",
                "x": [ref_point[0]],
                "y": [ref_point[1]],
                "marker": {"symbol": "x", "size": 10, "color": REFERENCE_COLOUR},
                "hovertemplate": "reference point<br>(%{x:.4g}, %{y:.4g})<extra></extra>",
            }
        )
    layout = {
        "title": {"text": "Measured Pareto fronts"},
        "xaxis": {"title": {"text": labels[0]}},
        "yaxis": {"title": {"text": labels[1]}},
        "legend": {"orientation": "h"},
        "margin": {"t": 50, "r": 20},
    }
    return {"data": traces, "layout": layout}, ""


def _compare_parcoords(names: Sequence[str], fronts: Sequence[Any], labels: list[str]) -> Figure:
    """One line per front architecture; the first axis (and the colour) says which study."""
    n = len(names)
    which = np.concatenate([np.full(f.shape[0], i) for i, f in enumerate(fronts)])  # (total,)
    points = np.vstack([f for f in fronts if f.shape[0]])  # (total, m)
    steps = max(n - 1, 1)
    # A colourscale needs two stops, so a lone study spans the whole scale.
    colourscale: list[list[Any]] = [[0, PALETTE[0]], [1, PALETTE[0]]]
    if n > 1:
        colourscale = [[i / steps, study_colour(i)] for i in range(n)]
    dimensions = [
        {
            "label": "study",
            "values": which.tolist(),
            "tickvals": list(range(n)),
            "ticktext": [escape(name) for name in names],
            "range": [0, steps],
        }
    ]
    dimensions += [{"label": labels[j], "values": points[:, j].tolist()} for j in range(points.shape[1])]
    line = {"color": which.tolist(), "colorscale": colourscale, "cmin": 0, "cmax": steps}
    return {
        "data": [{"type": "parcoords", "line": line, "dimensions": dimensions}],
        "layout": {"title": {"text": "Measured Pareto fronts"}, "margin": {"t": 80, "l": 80, "r": 40}},
    }


# --- What drives each objective (the drivers page) ---

TOP_VARIABLES = 15
"""Variables the importance chart shows (the most important of the first objective)."""


def importance_figure(importance: Sequence[ObjectiveImportance]) -> Figure:
    """Main-effect share of each variable, one bar group per objective, most important at the top."""
    shown = list(importance[0].variables[:TOP_VARIABLES])
    traces = []
    for k, result in enumerate(importance):
        share = dict(zip(result.variables, result.shares, strict=True))
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": escape(result.objective),
                "y": [escape(v) for v in reversed(shown)],
                "x": rounded([share[v] for v in reversed(shown)]),
                "marker": {"color": PALETTE[k % len(PALETTE)]},
                "hovertemplate": f"{escape(result.objective)}: %{{y}} explains %{{x:.0%}}<extra></extra>",
            }
        )
    layout = _layout(
        "Share of each objective's predicted spread explained by one variable alone",
        barmode="group",
        height=max(320, 28 * len(shown) * max(1, len(importance)) // 2 + 120),
        xaxis={"title": {"text": "main-effect share"}, "tickformat": ".0%", "range": [0, 1]},
        margin={**BASE_LAYOUT["margin"], "l": 160},
    )
    return {"data": traces, "layout": layout}


def stage_importance_figure(importance: Sequence[ObjectiveImportance]) -> Figure | None:
    """The shares summed per network stage (HyT-NAS); None for spaces without stages."""
    if not importance or not importance[0].stage_shares:
        return None
    stages = sorted(name for name, _ in importance[0].stage_shares)
    traces = [
        {
            "type": "bar",
            "name": escape(result.objective),
            "x": stages,
            "y": rounded([dict(result.stage_shares)[s] for s in stages]),
            "marker": {"color": PALETTE[k % len(PALETTE)]},
            "hovertemplate": f"{escape(result.objective)}: %{{x}} explains %{{y:.0%}}<extra></extra>",
        }
        for k, result in enumerate(importance)
    ]
    layout = _layout(
        "By network stage: which stage's choices drive each objective",
        barmode="group",
        yaxis={"title": {"text": "main-effect share"}, "tickformat": ".0%", "rangemode": "tozero"},
    )
    return {"data": traces, "layout": layout}


def _grid_axis(axis: GridAxis) -> dict[str, Any]:
    """An axis over cube positions labelled with the decoded values (every level, or every few)."""
    step = max(1, len(axis.positions) // 8)
    return {
        "title": {"text": escape(axis.variable)},
        "tickmode": "array",
        "tickvals": list(axis.positions[::step]),
        "ticktext": [escape(t) for t in axis.labels[::step]],
        "range": [-0.02, 1.02],
    }


def slice_figure(data: SliceData, objective: Objective) -> Figure:
    """One objective against one variable: measured points and the surrogate's partial dependence."""
    measured = {
        "type": "scatter",
        "mode": "markers",
        "name": "measured",
        "x": rounded(data.measured_x),
        "y": rounded(data.measured_y),
        "marker": {"color": REFERENCE_COLOUR, "size": 5, "opacity": 0.45},
        "hovertemplate": f"measured: %{{y:.4g}} {escape(objective.unit)}<extra></extra>",
    }
    predicted = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "surrogate (others averaged)",
        "x": list(data.axis.positions),
        "y": rounded(data.predicted),
        "text": [escape(t) for t in data.axis.labels],
        "line": {"color": PREDICTED_COLOUR, "width": 3},
        "hovertemplate": f"%{{text}}: predicted %{{y:.4g}} {escape(objective.unit)}<extra></extra>",
    }
    layout = _layout(
        f"{escape(objective.name)} against {escape(data.axis.variable)}",
        xaxis=_grid_axis(data.axis),
        yaxis={"title": {"text": axis_label(objective)}},
        showlegend=True,
    )
    return {"data": [measured, predicted], "layout": layout}


def contour_figure(data: ContourData, objective: Objective) -> Figure:
    """One objective's partial dependence on two variables at once."""
    trace = {
        "type": "contour",
        "x": list(data.x.positions),
        "y": list(data.y.positions),
        "z": [rounded(row) for row in data.values],
        "colorscale": "Viridis",
        "reversescale": objective.direction == "max",  # dark is always the better end
        "colorbar": {"title": {"text": escape(objective.label())}},
        "hovertemplate": f"predicted %{{z:.4g}} {escape(objective.unit)}<extra></extra>",
    }
    layout = _layout(
        f"{escape(objective.name)} over {escape(data.x.variable)} and {escape(data.y.variable)}",
        xaxis=_grid_axis(data.x),
        yaxis=_grid_axis(data.y),
    )
    return {"data": [trace], "layout": layout}


def latency_predictor_figure(
    stages: dict[str, tuple[list[float], list[float]]],
    front: tuple[list[float], list[float]] | None = None,
) -> Figure:
    """Out-of-fold predicted against measured latency, one trace per stage, with the ±10 % band.

    ``stages`` maps a stage to its ``(measured, predicted)`` ms; points between the dashed lines are
    predicted within 10 % of their measurement. ``front``: the end-to-end ``(measured, predicted)`` ms
    of the predicted front's architectures, predicted before the device measured them.
    """
    traces: list[dict[str, Any]] = []
    for stage, (measured, predicted) in stages.items():
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": escape(stage),
                "x": rounded(measured),
                "y": rounded(predicted),
                "marker": {"color": STAGE_COLOURS.get(stage, REFERENCE_COLOUR), "size": 6, "opacity": 0.7},
                "hovertemplate": (
                    f"{escape(stage)}: measured %{{x:.4g}} ms, predicted %{{y:.4g}} ms<extra></extra>"
                ),
            }
        )
    if front is not None and front[0]:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "predicted front, then measured (end to end)",
                "x": rounded(front[0]),
                "y": rounded(front[1]),
                "marker": {"color": REFERENCE_COLOUR, "size": 9, "symbol": "diamond-open"},
                "hovertemplate": "front: measured %{x:.4g} ms, predicted before %{y:.4g} ms<extra></extra>",
            }
        )
    shown = [*stages.values(), *([front] if front is not None else [])]
    values = [v for measured, predicted in shown for v in (*measured, *predicted)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    for name, factor, dash in (
        ("measured = predicted", 1.0, "solid"),
        ("±10 %", 1.1, "dash"),
        ("", 0.9, "dash"),
    ):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": name,
                "showlegend": bool(name),
                "legendgroup": "band" if factor != 1.0 else "identity",
                "x": rounded([low, high]),
                "y": rounded([low * factor, high * factor]),
                "line": {"color": REFERENCE_COLOUR, "width": 1, "dash": dash},
                "hoverinfo": "skip",
            }
        )
    layout = _layout(
        "Latency predicted (out of fold) against measured",
        xaxis={"title": {"text": "measured (ms)"}},
        yaxis={"title": {"text": "predicted (ms)"}},
        showlegend=True,
    )
    return {"data": traces, "layout": layout}
