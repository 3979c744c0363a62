"""Dashboard figure dicts: Pareto scatter, 3-D, parallel coordinates, hover escaping, other charts."""

from __future__ import annotations

import itertools
import json

import numpy as np

from hytnas_web.studies import charts
from search_engine.metrics.charts import (
    fidelity_series,
    hypervolume_series,
    pareto_chart_data,
    stage_latency_data,
    timing_series,
)
from search_engine.objectives import Objective

HOSTILE = Objective("<script>alert(1)</script>", "max", "<b>%</b>")
LATENCY = Objective("latency", "min", "ms")


def two_objective_data() -> tuple[object, list[str]]:
    Y = np.array([[80.0, 10.0], [70.0, 12.0], [90.0, 20.0], [np.nan, np.nan]])
    data = pareto_chart_data([1, 2, 3, 4], [0, 0, 1, 1], Y, (HOSTILE, LATENCY), ref_point=(60.0, 30.0))
    texts = ["name=<img src=x onerror=alert(1)>", "b", "c"]
    return data, texts


def test_two_objectives_scatter_coloured_by_iteration_with_front_and_reference() -> None:
    data, texts = two_objective_data()
    figure = charts.pareto_figure(data, texts, predicted=([3], np.array([[88.0, 18.0]])))  # type: ignore[arg-type]
    points, front, ref, predicted = figure["data"]
    assert points["type"] == "scatter" and points["mode"] == "markers"
    assert points["x"] == [80.0, 70.0, 90.0] and points["marker"]["color"] == [0, 0, 1]
    assert points["customdata"] == [1, 2, 3]
    assert front["customdata"] == [1, 3] and front["mode"] == "lines+markers"  # sorted by accuracy
    assert ref["x"] == [60.0] and ref["y"] == [30.0]
    assert predicted["visible"] == "legendonly" and predicted["x"] == [88.0]
    assert figure["layout"]["xaxis"]["title"]["text"].endswith("↑")


def test_user_text_is_escaped_in_hover_titles_and_axes() -> None:
    data, texts = two_objective_data()
    dumped = json.dumps(charts.pareto_figure(data, texts))  # type: ignore[arg-type]
    assert "<script>" not in dumped and "<img" not in dumped and "<b>" not in dumped
    assert "&lt;script&gt;" in dumped and "&lt;img src=x onerror=alert(1)&gt;" in dumped
    assert charts.escape("a & b {x} %{y}") == "a &amp; b &#123;x&#125; %&#123;y&#125;"


def test_three_objectives_are_a_3d_scatter_and_more_are_parallel_coordinates() -> None:
    rng = np.random.default_rng(0)
    three = tuple(Objective(f"f{i}") for i in range(3))
    data = pareto_chart_data(range(20), [0] * 20, rng.random((20, 3)), three, ref_point=(2, 2, 2))
    figure = charts.pareto_figure(data, [""] * 20)
    assert {trace["type"] for trace in figure["data"]} == {"scatter3d"}
    assert "zaxis" in figure["layout"]["scene"] and len(figure["data"][0]["z"]) == 20
    four = tuple(Objective(f"f{i}") for i in range(4))
    data = pareto_chart_data(range(20), [0] * 20, rng.random((20, 4)), four)
    [trace] = charts.pareto_figure(data, [""] * 20)["data"]
    assert trace["type"] == "parcoords" and len(trace["dimensions"]) == 4
    assert sum(trace["line"]["color"]) == data.front.shape[0]


def test_hypervolume_states_the_reference_point_and_switches_axes() -> None:
    series = hypervolume_series([0, 1], [10, 20], [0.5, 0.7], ref_point=(1.1, 1.1))
    figure = charts.hypervolume_figure(series, (Objective("f1"), Objective("f2")))
    assert figure is not None
    assert "reference point (f1, f2) = (1.1, 1.1)" in figure["layout"]["title"]["text"]
    assert figure["data"][0]["x"] == [10, 20] and figure["data"][0]["y"] == [0.5, 0.7]
    labels = [b["label"] for b in figure["layout"]["updatemenus"][0]["buttons"]]
    assert labels == ["vs evaluations", "vs iteration"]
    log = charts.hypervolume_figure(hypervolume_series([0], [10], [0.5], true_hypervolume=0.6), ())
    assert log is not None and "Log hypervolume difference" in log["layout"]["title"]["text"]
    assert charts.hypervolume_figure(hypervolume_series([], [], []), ()) is None


def test_stage_latency_bars_are_stacked_and_absent_without_data() -> None:
    data = stage_latency_data(
        [1, 2], [{"backbone": 3.0, "neck": 1.0, "head": 1.0}, {"backbone": 1.0, "head": 1.0}], [1, 2]
    )
    figure = charts.stage_latency_figure(data)
    assert figure is not None and figure["layout"]["barmode"] == "stack"
    assert [t["name"] for t in figure["data"]] == ["backbone", "neck", "head"]
    assert figure["data"][0]["x"] == ["#2", "#1"]
    share = charts.stage_share_figure(data)
    assert share is not None and share["data"][0]["type"] == "histogram"
    empty = stage_latency_data([1], [None], [1])
    assert charts.stage_latency_figure(empty) is None and charts.stage_share_figure(empty) is None


def test_fidelity_lines_and_timing_bars() -> None:
    fidelity = fidelity_series(
        [1], [[{"objective": "<i>f1</i>", "kendall_tau": 0.4, "rmse": 0.2}]], ["<i>f1</i>"]
    )
    figure = charts.fidelity_figure(fidelity)
    assert figure is not None
    assert [t["name"] for t in figure["data"]] == [
        "&lt;i&gt;f1&lt;/i&gt;: Kendall τ",
        "&lt;i&gt;f1&lt;/i&gt;: RMSE",
    ]
    assert figure["data"][1]["yaxis"] == "y2"
    timing = charts.timing_figure(timing_series([0, 1], [{"evaluate": 2.0}, {"fit": 1.0, "evaluate": 3.0}]))
    assert timing is not None and timing["layout"]["barmode"] == "stack"
    assert [t["name"] for t in timing["data"]] == ["fit", "solve", "select", "evaluate"]
    assert timing["data"][3]["y"] == [2.0, 3.0]


def test_numbers_are_rounded_and_nan_becomes_null() -> None:
    assert charts.rounded([1.234567891, float("nan")]) == [1.23457, None]


def test_compared_studies_keep_one_colour_and_their_names_are_escaped_like_the_dashboards() -> None:
    names = ["<b>A</b> %{x}", "B"]
    series = [hypervolume_series([0, 1], [5, 9], [0.2, 0.4]), hypervolume_series([0], [6], [0.3])]
    curves = charts.compare_hypervolume_figure(names, series, [2.0, 1.1])
    fronts = [np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([[0.8, 0.8]])]
    scatter, note = charts.compare_front_figure(names, (HOSTILE, LATENCY), fronts, [2.0, 1.1])
    assert note == "" and scatter is not None
    for figure in (curves, scatter):
        first, second = figure["data"][:2]
        assert first["name"] == charts.escape(names[0]) == "&lt;b&gt;A&lt;/b&gt; %&#123;x&#125;"
        assert (first["line"]["color"], second["line"]["color"]) == charts.PALETTE[:2]
    assert curves["data"][0]["x"] == [5, 9] and "(2, 1.1)" in curves["layout"]["title"]["text"]
    assert "<script>" not in json.dumps(scatter) and scatter["data"][2]["name"] == "reference point"


def test_each_objectives_error_has_its_own_axis_in_its_own_units() -> None:
    records = [
        {"objective": "accuracy", "kendall_tau": 0.5, "rmse": 1.2},
        {"objective": "latency", "kendall_tau": 0.7, "rmse": 150.0},
    ]
    figure = charts.fidelity_figure(fidelity_series([1, 2], [records, records], ["accuracy", "latency"]))
    assert figure is not None
    by_name = {trace["name"]: trace for trace in figure["data"]}
    assert by_name["accuracy: RMSE"]["yaxis"] != by_name["latency: RMSE"]["yaxis"]
    assert by_name["accuracy: Kendall τ"].get("yaxis", "y") == by_name["latency: Kendall τ"].get("yaxis", "y")
    layout = figure["layout"]
    panels = [layout["yaxis"]["domain"], layout["yaxis2"]["domain"], layout["yaxis3"]["domain"]]
    assert all(0 <= low < high <= 1 for low, high in panels)
    assert all(upper[0] >= lower[1] for upper, lower in itertools.pairwise(panels))  # no overlap
    names = [(note["text"], note["y"]) for note in layout["annotations"]]
    assert [text for text, _ in names] == ["Kendall τ", "accuracy RMSE", "latency RMSE"]
    # Each panel's name sits on its own panel's top edge, above the panel below it.
    assert [top for _, top in names] == [1.0, panels[1][1], panels[2][1]]
    assert all("title" not in layout[axis] for axis in ("yaxis", "yaxis2", "yaxis3"))


def test_a_three_objective_front_is_points_not_a_line_through_space() -> None:
    rng = np.random.default_rng(1)
    three = tuple(Objective(f"f{i}") for i in range(3))
    data = pareto_chart_data(range(30), [0] * 30, rng.random((30, 3)), three)
    front = charts.pareto_figure(data, [""] * 30)["data"][1]
    assert front["name"] == "Pareto front" and front["mode"] == "markers"


def test_the_iteration_colour_bar_ticks_whole_iterations_and_hover_names_where_a_point_came_from() -> None:
    Y = np.array([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1], [0.6, 0.6]])
    data = pareto_chart_data([1, 2, 3, 4], [-1, 0, 1, 2], Y, (Objective("f1"), Objective("f2")))
    points = charts.pareto_figure(data, ["a", "b", "c", "d"])["data"][0]
    bar = points["marker"]["colorbar"]
    assert bar["tickmode"] == "linear" and bar["dtick"] == 1 and float(bar["dtick"]).is_integer()
    assert "imported" in bar["title"]["text"]
    assert points["text"][0].startswith("measured before the search")
    assert points["text"][1].startswith("initial design") and points["text"][3].startswith("iteration 2")
    many = pareto_chart_data(range(4), [0, 10, 40, 99], Y, (Objective("f1"), Objective("f2")))
    many_bar = charts.pareto_figure(many, [""] * 4)["data"][0]["marker"]["colorbar"]
    assert many_bar["dtick"] == 13 and "imported" not in many_bar["title"]["text"]
