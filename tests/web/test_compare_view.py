"""Comparing studies: one stated reference point for all curves, fronts, configuration differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from search_engine.metrics.hypervolume import hypervolume
from tests.web.stored_config import store_config


def compare(client: Any, *studies: Study | int) -> Any:
    ids = [s if isinstance(s, int) else s.pk for s in studies]
    return client.get(reverse("studies-compare"), {"ids": ids})


def measure(study: Study, index: int, values: list[list[float] | None]) -> Iteration:
    """A finished iteration that measured ``values`` (None = a failed evaluation)."""
    iteration = Iteration.objects.create(study=study, index=index, seed=index, status=Iteration.Status.DONE)
    start = study.evaluations.count()
    for i, row in enumerate(values):
        Evaluation.objects.create(
            study=study,
            iteration=iteration,
            position=i,
            key=f"{index}-{start + i}",
            x=[0.0] * 4,
            architecture={"x0": 0.0},
            source=Evaluation.Source.INITIAL if index == 0 else Evaluation.Source.OPTIMIZER,
            status=Evaluation.Status.DONE if row is not None else Evaluation.Status.FAILED,
            objectives=row,
        )
    return iteration


@pytest.fixture
def two_studies(alice: Any, make_study: Any) -> tuple[Study, Study]:
    """Two ZDT1 studies with different reference points and configurations, two iterations each."""
    rng = np.random.default_rng(11)
    first = make_study(alice, name="First")
    second = make_study(alice, name="Second", budget=40, seed=5, ref_point=[2.0, 0.9])
    solver = {"name": "nsga2", "params": {"pop_size": 30, "n_gen": 5, "eliminate_duplicates": True}}
    store_config(second, solver=solver)
    for study in (first, second):
        measure(study, 0, [*rng.uniform(0, 1.5, (6, 2)).round(4).tolist(), None])
        measure(study, 1, rng.uniform(0, 1.0, (5, 2)).round(4).tolist())
    return first, second


def expected_series(study: Study, ref: np.ndarray) -> tuple[list[int], list[float]]:
    """Hypervolume from scratch after each iteration: every finite value measured up to it."""
    counts, values = [], []
    for iteration in study.iterations.order_by("index"):
        rows = Evaluation.objects.filter(study=study, iteration__index__lte=iteration.index)
        Y = np.array([r for r in rows.values_list("objectives", flat=True) if r is not None], dtype=float)
        counts.append(rows.count())
        values.append(hypervolume(Y, ref))
    return counts, values


def test_every_curve_uses_the_stated_common_reference_point(alice_client: Any, two_studies: Any) -> None:
    first, second = two_studies
    response = compare(alice_client, first, second)
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison.comparable
    assert comparison.ref_point == [2.0, 1.1]  # the worse of (1.1, 1.1) and (2.0, 0.9), per objective
    content = response.content.decode()
    assert (
        "<strong>(2, 1.1)</strong>" in content
        and "the worst of the reference points of these studies" in content
    )
    ref = np.array([2.0, 1.1])
    for study, series, trace in zip(
        (first, second), comparison.series, comparison.hypervolume_figure["data"], strict=True
    ):
        counts, values = expected_series(study, ref)
        assert list(series.iterations) == [0, 1]
        assert list(series.n_evaluations) == counts == [7, 12]
        assert series.hypervolume == pytest.approx(values, rel=1e-12)
        assert trace["x"] == counts and trace["y"] == pytest.approx(values, rel=1e-12)
        assert values[1] >= values[0] > 0
    title = comparison.hypervolume_figure["layout"]["title"]["text"]
    assert "(2, 1.1)" in title
    assert (
        'data-figure="compare-hypervolume-figure"' in content and 'id="compare-hypervolume-figure"' in content
    )
    assert "js/figures.js" in content


def test_fronts_are_overlaid_for_two_objectives(alice_client: Any, two_studies: Any) -> None:
    first, second = two_studies
    comparison = compare(alice_client, first, second).context["comparison"]
    figure = comparison.front_figure
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["First", "Second", "reference point"]
    for study, trace in zip((first, second), figure["data"][:2], strict=True):
        rows = [r for r in study.evaluations.values_list("objectives", flat=True) if r is not None]
        on_front = [a for a in rows if not any(b[0] <= a[0] and b[1] <= a[1] and b != a for b in rows)]
        assert sorted(zip(trace["x"], trace["y"], strict=True)) == sorted({tuple(p) for p in on_front})


def test_the_differences_table_lists_exactly_the_fields_that_differ(
    alice_client: Any, two_studies: Any
) -> None:
    first, second = two_studies
    response = compare(alice_client, first, second)
    rows = {row["field"]: row["values"] for row in response.context["comparison"].differences}
    assert rows == {
        "ref_point": ["(1.1, 1.1)", "(2, 0.9)"],
        "solver.params.pop_size": ["20", "30"],
        "solver.params.eliminate_duplicates": ["—", "true"],
        "budget": ["30", "40"],
        "seed": ["0", "5"],
    }
    content = response.content.decode()
    assert "<code>solver.params.pop_size</code>" in content and "<code>surrogate" not in content


def test_an_auto_study_against_one_with_explicit_components_differs_in_auto(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    explicit, chosen = make_study(alice, name="explicit"), make_study(alice, name="auto", auto=True)
    rows = {
        r["field"]: r["values"]
        for r in compare(alice_client, explicit, chosen).context["comparison"].differences
    }
    assert rows == {"auto": ["off", "chooses its components at every proposal"]}


def test_identical_configurations_say_so(alice_client: Any, alice: Any, make_study: Any) -> None:
    first, second = make_study(alice, name="A"), make_study(alice, name="B")
    response = compare(alice_client, first, second)
    assert response.context["comparison"].differences == []
    content = response.content.decode()
    assert "configurations are identical" in content
    assert "Nothing has been measured in these studies yet" in content


def test_studies_with_different_objectives_are_not_overlaid(
    alice_client: Any, alice: Any, make_study: Any, two_studies: Any
) -> None:
    first, _ = two_studies
    other = make_study(alice, name="Accuracy and latency")
    store_config(
        other,
        objectives=[
            {"name": "accuracy", "direction": "max", "unit": "%"},
            {"name": "latency", "direction": "min", "unit": "ms"},
        ],
    )
    response = compare(alice_client, first, other)
    assert response.status_code == 200
    content = response.content.decode()
    assert "do not measure the same objectives" in content and "cannot be overlaid" in content
    assert "accuracy (%)" in content
    assert response.context["comparison"].hypervolume_figure is None
    assert "compare-hypervolume-figure" not in content and "js/figures.js" not in content
    assert "<code>objectives</code>" in content  # the differences table still says how they differ


def test_other_peoples_studies_and_bad_ids_are_404(
    alice_client: Any, bob: Any, make_study: Any, two_studies: Any
) -> None:
    first, second = two_studies
    bobs = make_study(bob, name="Bob's")
    assert compare(alice_client, first, bobs).status_code == 404
    assert compare(alice_client, first, second, bobs).status_code == 404
    assert compare(alice_client, first, 999999).status_code == 404
    assert alice_client.get(reverse("studies-compare"), {"ids": [first.pk, "x"]}).status_code == 404


def test_the_picker_lists_only_ones_own_studies_and_asks_for_two(
    alice_client: Any, bob: Any, make_study: Any, two_studies: Any
) -> None:
    first, _ = two_studies
    make_study(bob, name="Bob's secret study")
    content = alice_client.get(reverse("studies-compare")).content.decode()
    assert "First" in content and "Second" in content and "Bob's secret study" not in content
    one = compare(alice_client, first).content.decode()
    assert "Pick at least two studies" in one
    assert f'value="{first.pk}" checked' in one
    assert (
        f'href="{reverse("studies-compare")}"' in alice_client.get(reverse("studies-list")).content.decode()
    )


def test_hostile_names_are_escaped_in_the_page_and_in_the_figures(
    alice_client: Any, alice: Any, make_study: Any, two_studies: Any
) -> None:
    first, _ = two_studies
    hostile = make_study(alice, name="<img src=x onerror=alert(1)>")
    measure(hostile, 0, [[0.2, 0.3], [0.4, 0.1]])
    response = compare(alice_client, first, hostile)
    content = response.content.decode()
    assert "<img src=x" not in content and "&lt;img src=x onerror=alert(1)&gt;" in content
    comparison = response.context["comparison"]
    for figure in (comparison.hypervolume_figure, comparison.front_figure):
        assert figure["data"][1]["name"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_more_than_two_objectives_are_drawn_as_parallel_coordinates(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    three = [{"name": f"f{i}", "direction": "min", "unit": ""} for i in (1, 2, 3)]
    studies = []
    for name in ("P", "Q"):
        study = make_study(alice, name=name)
        store_config(study, objectives=three, ref_point=[1.0, 1.0, 1.0])
        measure(study, 0, [[0.1, 0.5, 0.5], [0.5, 0.1, 0.5], [0.6, 0.6, 0.6]])
        studies.append(study)
    response = compare(alice_client, *studies)
    comparison = response.context["comparison"]
    assert "parallel coordinates" in comparison.front_note
    [trace] = comparison.front_figure["data"]
    assert trace["type"] == "parcoords"
    assert trace["dimensions"][0]["values"] == [0, 0, 1, 1]  # two front points per study
    expected = hypervolume(np.array([[0.1, 0.5, 0.5], [0.5, 0.1, 0.5], [0.6, 0.6, 0.6]]), np.ones(3))
    assert [s.hypervolume[0] for s in comparison.series] == pytest.approx([expected, expected])


@pytest.mark.django_db(transaction=True)
def test_at_a_shared_reference_point_the_curves_match_what_the_jobs_stored(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    studies = [make_study(alice, name="Run A", seed=1), make_study(alice, name="Run B", seed=2)]
    for study in studies:
        services.start_study(study)
        services.run_iteration(study.pk, 0, job_id="in-test")
    comparison = compare(alice_client, *studies).context["comparison"]
    assert comparison.ref_point == [1.1, 1.1]
    for study, series in zip(studies, comparison.series, strict=True):
        stored = study.iterations.get(index=0)
        assert list(series.n_evaluations) == [stored.n_evaluations]
        assert series.hypervolume == pytest.approx([stored.hypervolume], rel=1e-12)


# --- two architectures side by side ---


def side_by_side(client: Any, *ids: Any) -> Any:
    return client.get(reverse("studies-compare"), {"architectures": [str(i) for i in ids]})


def test_two_hytnas_architectures_side_by_side_mark_what_differs(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    from tests.web.test_architectures_view import hytnas_study

    study = hytnas_study(alice, make_study, 2)
    first, second = study.evaluations.order_by("id")
    response = side_by_side(alice_client, first.pk, second.pk)
    assert response.status_code == 200
    content = response.content.decode()
    comparison = response.context["architectures"]
    differing = {row.label for row in comparison.variables if row.differs}
    expected = {name for name, value in first.architecture.items() if second.architecture[name] != value}
    assert differing == expected and expected
    variables = content.split('id="compare-architectures-variables"')[1].split("</table>")[0]
    for name in first.architecture:
        row = variables.split(f"<code>{name}</code>")[1].split("</tr>")[0]
        assert (row.count('class="diff-marker"') == 2) == (name in expected), name  # a ≠ in both cells
        assert ("num differs" in row) == (name in expected)
    objectives = content.split('id="compare-architectures-objectives"')[1].split("</table>")[0]
    assert "accuracy (%) ↑" in objectives and f"{first.objectives[0]:g}" in objectives
    stages = content.split('id="compare-architectures-stages"')[1].split("</table>")[0]
    assert stages.count('<tbody class="stage-') == 10  # stem, stages 1-5, backbone, neck, head, total
    assert stages.count(f">#{first.pk}</a>") == 10 and stages.count(f">#{second.pk}</a>") == 10
    stage3 = stages.split('<tbody class="stage-stage3">')[1].split("</tbody>")[0]
    differs = first.architecture["blocks_stage3"] != second.architecture["blocks_stage3"]
    blocks = [cell.split("</td>")[0] for cell in stage3.split('data-column="blocks">')[1:]]
    assert [("≠" in cell) for cell in blocks] == [differs, differs]
    assert comparison.stages[0].part == "stem" and not any(c.differs for c in comparison.stages[0].cells)
    latency = next(r for r in comparison.stages if r.part == "backbone").cells[-1]
    assert latency.values == (first.stage_latency["backbone"], second.stage_latency["backbone"])
    assert f"{len(expected)} of 23 variables differ" in content


def test_architectures_of_other_spaces_compare_their_variables_and_objectives(
    alice_client: Any, two_studies: tuple[Study, Study]
) -> None:
    first, second = (s.evaluations.order_by("id").first() for s in two_studies)
    assert first is not None and second is not None
    Evaluation.objects.filter(pk=second.pk).update(architecture={"x0": 0.25})
    response = side_by_side(alice_client, first.pk, second.pk)
    assert response.status_code == 200
    comparison = response.context["architectures"]
    assert [(row.label, row.values, row.differs) for row in comparison.variables] == [
        ("x0", (0.0, 0.25), True)
    ]
    assert comparison.stages == []
    assert "network-stages" not in response.content.decode()


def test_picking_other_than_two_architectures_or_a_bad_id_says_what_is_wrong(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    from tests.web.test_architectures_view import hytnas_study

    study = hytnas_study(alice, make_study, 3)
    a, b, c = study.evaluations.order_by("id").values_list("id", flat=True)
    one = side_by_side(alice_client, a)
    assert (
        one.status_code == 200
        and "Pick two architectures to see them side by side (1 picked)" in one.content.decode()
    )
    three = side_by_side(alice_client, a, b, c)
    assert "(3 picked)" in three.content.decode() and three.context["architectures"] is None
    same = side_by_side(alice_client, a, a)
    assert "(1 picked)" in same.content.decode()
    bad = side_by_side(alice_client, a, "abc")
    assert bad.status_code == 400 and "“abc” is not an architecture id" in bad.content.decode()
    missing = side_by_side(alice_client, a, 10**9)
    assert missing.status_code == 404 and f"has an architecture {10**9}" in missing.content.decode()


def test_bob_cannot_compare_alices_architectures(bob_client: Any, alice: Any, make_study: Any) -> None:
    from tests.web.test_architectures_view import hytnas_study

    a, b = hytnas_study(alice, make_study, 2).evaluations.values_list("id", flat=True)
    response = side_by_side(bob_client, a, b)
    assert response.status_code == 404 and response.context["architectures"] is None
    assert "None of your studies has an architecture" in response.content.decode()
