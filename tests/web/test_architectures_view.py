"""The architectures table (server-side sort, filters, pages, Pareto filter) and one architecture's page."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from hytnas_web.studies.models import Evaluation, Iteration, Study
from tests.web.stored_config import store_config

ACCURACY_LATENCY = [
    {"name": "accuracy", "direction": "max", "unit": "%"},
    {"name": "latency", "direction": "min", "unit": "ms"},
]


def add_evaluations(
    study: Study,
    objectives: list[list[float] | None],
    iteration: Iteration | None = None,
    source: str = Evaluation.Source.OPTIMIZER,
    **fields: Any,
) -> list[Evaluation]:
    """Evaluations with the given measured values (None = a failure), in creation (id) order."""
    start = study.evaluations.count()
    made = []
    for i, values in enumerate(objectives):
        made.append(
            Evaluation.objects.create(
                study=study,
                iteration=iteration,
                position=i,
                key=f"arch-{start + i}",
                x=[0.5, 0.5],
                architecture={"x0": round(0.01 * (start + i), 4), "x1": 0.5},
                source=source,
                status=Evaluation.Status.DONE if values is not None else Evaluation.Status.FAILED,
                objectives=values,
                error="" if values is not None else "out of memory",
                **fields,
            )
        )
    return made


def iteration(study: Study, index: int) -> Iteration:
    return Iteration.objects.create(study=study, index=index, seed=index, status=Iteration.Status.DONE)


def table(client: Any, study: Study, **params: Any) -> Any:
    return client.get(reverse("studies-architectures", args=[study.pk]), params)


def shown_ids(response: Any) -> list[int]:
    return [evaluation.pk for evaluation in response.context["page"].object_list]


@pytest.fixture
def measured_study(alice: Any, make_study: Any) -> Study:
    """70 measured architectures over two iterations (accuracy ↑, latency ↓) and 5 failures."""
    study = make_study(alice, name="Measured")
    store_config(study, objectives=ACCURACY_LATENCY)
    rng = np.random.default_rng(7)
    values = np.column_stack([rng.uniform(60, 80, 70), rng.uniform(100, 900, 70)]).round(3)
    first, second = iteration(study, 0), iteration(study, 1)
    add_evaluations(study, values[:40].tolist(), first, source=Evaluation.Source.INITIAL)
    add_evaluations(study, [None] * 5, second)
    add_evaluations(study, values[40:].tolist(), second)
    return study


def test_sorting_by_an_objective_works_both_ways_with_failures_last(
    alice_client: Any, measured_study: Study
) -> None:
    rows = list(measured_study.evaluations.values_list("id", "objectives"))
    measured = [(values[1], pk) for pk, values in rows if values is not None]
    failed = sorted(pk for pk, values in rows if values is None)
    ascending = [pk for _, pk in sorted(measured)] + failed
    descending = [pk for _, pk in sorted(measured, key=lambda t: (-t[0], -t[1]))] + sorted(
        failed, reverse=True
    )

    response = table(alice_client, measured_study, sort="objective-1")
    assert response.status_code == 200
    assert shown_ids(response) == ascending[:50]
    assert shown_ids(table(alice_client, measured_study, sort="objective-1", page=2)) == ascending[50:]
    assert shown_ids(table(alice_client, measured_study, sort="-objective-1")) == descending[:50]
    assert shown_ids(table(alice_client, measured_study, sort="-objective-1", page=2)) == descending[50:]
    content = table(alice_client, measured_study, sort="-objective-0").content.decode()
    assert 'aria-sort="descending"' in content and "?sort=objective-0" in content  # a click reverses it


def test_each_filter_keeps_exactly_its_rows(alice_client: Any, measured_study: Study) -> None:
    evaluations = measured_study.evaluations
    failed = table(alice_client, measured_study, status="failed")
    assert shown_ids(failed) == sorted(evaluations.filter(status="failed").values_list("id", flat=True))
    initial = table(alice_client, measured_study, source="initial")
    assert shown_ids(initial) == sorted(evaluations.filter(source="initial").values_list("id", flat=True))
    second = list(evaluations.filter(iteration__index=1).order_by("id").values_list("id", flat=True))
    assert len(second) == 35
    by_iteration = table(alice_client, measured_study, iteration=1)
    assert shown_ids(by_iteration) == second
    assert "35 of 75 architectures match" in by_iteration.content.decode()
    both = table(alice_client, measured_study, iteration=1, status="done")
    assert shown_ids(both) == sorted(
        evaluations.filter(iteration__index=1, status="done").values_list("id", flat=True)
    )


def test_pages_hold_fifty_rows_and_bad_page_numbers_fall_back(
    alice_client: Any, measured_study: Study
) -> None:
    everything = sorted(measured_study.evaluations.values_list("id", flat=True))
    first = table(alice_client, measured_study)
    assert shown_ids(first) == everything[:50]
    content = first.content.decode()
    assert "Page 1 of 2" in content and 'rel="next" href="?page=2"' in content
    assert shown_ids(table(alice_client, measured_study, page=2)) == everything[50:]
    assert shown_ids(table(alice_client, measured_study, page=99)) == everything[50:]
    assert shown_ids(table(alice_client, measured_study, page="abc")) == everything[:50]
    assert shown_ids(table(alice_client, measured_study, sort="bogus", iteration="x")) == everything[:50]
    sorted_page = table(alice_client, measured_study, sort="-id", status="done").content.decode()
    assert 'href="?sort=-id&amp;status=done&amp;page=2"' in sorted_page  # the pager keeps sort and filters


def non_dominated_ids(rows: list[tuple[int, list[float]]]) -> list[int]:
    """Brute force, accuracy maximised and latency minimised."""

    def dominates(a: list[float], b: list[float]) -> bool:
        return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])

    return sorted(pk for pk, v in rows if not any(dominates(w, v) for _, w in rows))


def test_the_pareto_filter_returns_exactly_the_non_dominated_rows(
    alice_client: Any, measured_study: Study
) -> None:
    # A duplicate of a front point is on the front too; a failed row never is.
    best = max(measured_study.evaluations.exclude(objectives=None), key=lambda e: e.objectives[0])
    add_evaluations(measured_study, [list(best.objectives)], source=Evaluation.Source.IMPORTED)
    rows = [(pk, v) for pk, v in measured_study.evaluations.values_list("id", "objectives") if v is not None]
    expected = non_dominated_ids(rows)
    assert 3 <= len(expected) < len(rows)
    response = table(alice_client, measured_study, pareto="on")
    assert shown_ids(response) == expected
    assert f"{len(expected)} of 76 architectures match" in response.content.decode()
    imported = table(alice_client, measured_study, pareto="on", source="imported")
    assert len(shown_ids(imported)) == 1
    by_latency = table(alice_client, measured_study, pareto="on", sort="objective-1")
    latencies = [e.objectives[1] for e in by_latency.context["page"].object_list]
    assert latencies == sorted(latencies)


def test_bob_cannot_see_alices_architectures(bob_client: Any, measured_study: Study) -> None:
    evaluation = measured_study.evaluations.first()
    assert table(bob_client, measured_study).status_code == 404
    url = reverse("studies-architecture", args=[measured_study.pk, evaluation.pk])
    assert bob_client.get(url).status_code == 404


def test_an_evaluation_of_another_study_is_a_404(
    alice_client: Any, alice: Any, make_study: Any, measured_study: Study
) -> None:
    other = make_study(alice, name="Other")
    evaluation = measured_study.evaluations.first()
    url = reverse("studies-architecture", args=[other.pk, evaluation.pk])
    assert alice_client.get(url).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client: Any, measured_study: Study) -> None:
    response = table(client, measured_study)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_hostile_names_are_escaped(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice, name="<script>alert('study')</script>")
    hostile = [{"name": "<img src=x onerror=alert(1)>", "direction": "min", "unit": "<b>ms</b>"}]
    store_config(study, objectives=[*hostile, {"name": "f2", "direction": "min", "unit": ""}])
    [evaluation] = add_evaluations(study, [[1.0, 2.0]])
    for response in (
        table(alice_client, study),
        alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk])),
    ):
        content = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert(" not in content and "<img src=x" not in content and "<b>ms" not in content
        assert "&lt;script&gt;alert(" in content and "&lt;img src=x onerror=alert(1)&gt;" in content


def test_a_study_with_failed_evaluations_and_an_empty_study_render(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    empty = make_study(alice, name="Empty")
    response = table(alice_client, empty)
    assert response.status_code == 200 and "Nothing evaluated yet" in response.content.decode()
    assert (
        "Nothing evaluated yet"
        in table(alice_client, empty, pareto="on", sort="-objective-0").content.decode()
    )

    broken = make_study(alice, name="Broken")
    [failure] = add_evaluations(broken, [None, None])[:1]
    for params in ({}, {"pareto": "on"}, {"sort": "objective-0"}, {"status": "done"}):
        assert table(alice_client, broken, **params).status_code == 200
    assert "No architecture matches" in table(alice_client, broken, pareto="on").content.decode()
    page = alice_client.get(reverse("studies-architecture", args=[broken.pk, failure.pk]))
    content = page.content.decode()
    assert page.status_code == 200 and "out of memory" in content and "not measured" in content
    assert "reported no per-stage latency" in content


def test_the_architecture_page_shows_predicted_against_measured_and_its_iteration(
    alice_client: Any, measured_study: Study
) -> None:
    second = measured_study.iterations.get(index=1)
    second.timings = {"fit": 0.5, "solve": 1.5, "select": 0.125}
    second.save()
    [evaluation] = add_evaluations(
        measured_study,
        [[71.5, 250.0]],
        second,
        predicted_mean=[70.0, 300.0],
        predicted_std=[1.0, 25.0],
        stage_latency={"backbone": 150.0, "neck": 50.0, "head": 50.0},
        seconds=1.25,
    )
    response = alice_client.get(reverse("studies-architecture", args=[measured_study.pk, evaluation.pk]))
    content = response.content.decode()
    rows = response.context["detail"]["objectives"]
    assert [r["error"] for r in rows] == [1.5, -50.0]
    assert [r["z"] for r in rows] == [1.5, 2.0]
    assert "accuracy (%) ↑" in content and "latency (ms) ↓" in content
    assert f"{reverse('studies-architectures', args=[measured_study.pk])}?iteration=1" in content
    assert [s["share"] for s in response.context["detail"]["stages"]] == [0.6, 0.2, 0.2]
    assert "60 %" in content and "1.25 s" in content
    assert "fit 0.5 s, solve 1.5 s, select 0.125 s, evaluate —" in content


def test_a_hytnas_architecture_shows_its_derived_widths(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    from search_engine.spaces.hytnas import HyTNASSpace, ffn_widths, stage_channels

    study = make_study(alice, name="HyT-NAS")
    store_config(study, space={"name": "hytnas", "params": {}})
    space = HyTNASSpace()
    architecture = space.decode(np.random.default_rng(3).uniform(size=(1, space.n_vars)))[0]
    evaluation = Evaluation.objects.create(
        study=study,
        key="h",
        x=[0.0],
        architecture={k: v.item() if hasattr(v, "item") else v for k, v in architecture.items()},
        source=Evaluation.Source.IMPORTED,
        status=Evaluation.Status.DONE,
        objectives=[1.0, 2.0],
    )
    response = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk]))
    derived = dict(response.context["detail"]["derived"])
    channels = stage_channels(architecture)
    assert [derived[f"channels, stage {i}"] for i in range(1, 6)] == [str(c) for c in channels]
    assert [derived[f"FFN width, stage {s}"] for s in (3, 4, 5)] == [str(w) for w in ffn_widths(architecture)]
    assert response.context["detail"]["on_front"] is True
    assert not math.isnan(float(derived["channels, stage 1"]))


def hytnas_study(owner: Any, make_study: Any, n: int, seed: int = 3, name: str = "HyT-NAS") -> Study:
    """A HyT-NAS study with ``n`` measured architectures (accuracy ↑, latency ↓, per-stage latency)."""
    from search_engine.spaces.hytnas import HyTNASSpace

    study = make_study(owner, name=name)
    store_config(study, space={"name": "hytnas", "params": {}}, objectives=ACCURACY_LATENCY)
    space = HyTNASSpace()
    rng = np.random.default_rng(seed)
    X = space.sample_unique(n, rng)
    for i, (point, architecture, key) in enumerate(zip(X, space.decode(X), space.keys(X), strict=True)):
        backbone, neck, head = (float(v) for v in rng.uniform(1, 20, 3).round(2))
        Evaluation.objects.create(
            study=study,
            position=i,
            key=key,
            x=point.tolist(),
            architecture={k: v.item() if hasattr(v, "item") else v for k, v in architecture.items()},
            source=Evaluation.Source.IMPORTED,
            status=Evaluation.Status.DONE,
            objectives=[round(float(rng.uniform(60, 80)), 2), backbone + neck + head],
            stage_latency={"backbone": backbone, "neck": neck, "head": head},
        )
    return study


def test_a_hytnas_architecture_page_shows_its_network_stage_by_stage(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    from search_engine.spaces.hytnas import HyTNASSpace, stage_channels

    study = hytnas_study(alice, make_study, 1)
    evaluation = study.evaluations.get()
    response = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk]))
    content = response.content.decode()
    network = response.context["detail"]["network"]
    assert network is not None
    known = HyTNASSpace().known_quantities(np.array([evaluation.x]))
    assert network.row("total").values["params"] == known["params"][0]
    assert network.row("backbone").values["latency_ms"] == evaluation.stage_latency["backbone"]
    assert 'id="network-stages"' in content
    for heading in (
        "Blocks",
        "Channels",
        "Expansion",
        "Heads",
        "FFN width",
        "Patch",
        "Parameters",
        "Latency (ms)",
    ):
        assert f'<th class="num">{heading}</th>' in content
    stage3 = content.split('class="stage-stage3"')[1].split("</tr>")[0]
    assert f">{stage_channels(evaluation.architecture)[2]}" in stage3
    assert f"{int(known['params'][0]):,}" in content  # the whole network's parameters, grouped


def test_other_spaces_keep_their_variable_list_and_have_no_network_table(
    alice_client: Any, measured_study: Study
) -> None:
    evaluation = measured_study.evaluations.first()
    assert evaluation is not None
    response = alice_client.get(reverse("studies-architecture", args=[measured_study.pk, evaluation.pk]))
    assert response.context["detail"]["network"] is None
    assert "network-stages" not in response.content.decode()
    assert "<code>x0</code>" in response.content.decode()


# --- one column per design variable ---


def rows_by(study: Study, name: str) -> list[tuple[Any, int]]:
    return [(e.architecture.get(name), e.pk) for e in study.evaluations.all()]


def test_each_design_variable_is_a_sortable_column_both_ways(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = hytnas_study(alice, make_study, 60)
    response = table(alice_client, study)
    content = response.content.decode()
    from search_engine.spaces.hytnas import HyTNASSpace

    names = HyTNASSpace().names
    assert [c["label"] for c in response.context["columns"] if c["kind"] == "variable"] == names
    assert all(f'data-variable="{name}"' in content for name in names)
    assert "<th>Architecture</th>" not in content  # the one text blob per row is gone
    column = names.index("growth_stage3")
    values = rows_by(study, "growth_stage3")
    ascending = [pk for _, pk in sorted(values)]
    descending = [pk for _, pk in sorted(values, key=lambda t: (-t[0], -t[1]))]
    shown = shown_ids(table(alice_client, study, sort=f"variable-{column}"))
    assert shown == ascending[:50]
    assert shown_ids(table(alice_client, study, sort=f"variable-{column}", page=2)) == ascending[50:]
    assert shown_ids(table(alice_client, study, sort=f"-variable-{column}")) == descending[:50]
    first = table(alice_client, study, sort=f"variable-{column}").context["page"].object_list[0]
    assert first.variable_values[column] == min(v for v, _ in values)


def test_choice_filters_keep_exactly_their_rows_and_paging_and_sorting_keep_them(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    from search_engine.spaces.hytnas import HyTNASSpace

    study = hytnas_study(alice, make_study, 120, seed=4)
    names = HyTNASSpace().names
    blocks, channels = names.index("blocks_stage3"), names.index("channels_stage1")
    expected = sorted(pk for value, pk in rows_by(study, "blocks_stage3") if value == 2)
    response = table(alice_client, study, **{f"v{blocks}": "2"})
    assert shown_ids(response) == expected[:50]
    assert f"{len(expected)} of 120 architectures match" in response.content.decode()
    narrow = {e.pk for e in study.evaluations.all() if e.architecture["channels_stage1"] == 16}
    both = sorted((pk for pk in expected if pk in narrow), reverse=True)
    assert 0 < len(both) < len(expected)
    filtered = table(alice_client, study, **{f"v{blocks}": "2", f"v{channels}": "16", "sort": "-id"})
    assert shown_ids(filtered) == both
    assert "selected>16</option>" in filtered.content.decode()  # the filter shows what it keeps
    page = table(alice_client, study, **{f"v{channels}": "8"})
    count = page.context["page"].paginator.count
    assert count == sum(1 for v, _ in rows_by(study, "channels_stage1") if v == 8)
    everything = table(alice_client, study, **{f"v{blocks}": ""})  # "any"
    assert everything.context["page"].paginator.count == 120 and not everything.context["filtered"]


def test_paging_keeps_variable_filters_and_sort(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = generic_study(alice, make_study, 70)
    response = table(alice_client, study, **{"v1-min": "0.001", "sort": "-variable-1"})
    assert response.context["page"].paginator.count == 70
    next_link = response.context["next_query"]
    assert "v1-min=0.001" in next_link and "sort=-variable-1" in next_link and "page=2" in next_link
    assert dict(response.context["page_params"]) == {"v1-min": "0.001", "sort": "-variable-1"}
    sort_link = next(c for c in response.context["columns"] if c["key"] == "variable-0")["query"]
    assert "v1-min=0.001" in sort_link
    rates = [e.architecture["rate"] for e in response.context["page"].object_list]
    following = table(alice_client, study, **{"v1-min": "0.001", "sort": "-variable-1", "page": 2})
    second = [e.architecture["rate"] for e in following.context["page"].object_list]
    assert rates + second == sorted(rates + second, reverse=True) and len(second) == 20


def test_bad_variable_filter_values_say_what_was_not_applied_and_never_fail(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = generic_study(alice, make_study, 20)
    expected = sorted(e.pk for e in study.evaluations.all() if e.architecture["size"] == "small")
    cases = [
        ({"v1-min": "abc"}, "rate at least: Enter a number."),
        ({"v1-max": "inf"}, "rate at most: Enter a number."),
        ({"v1-min": "0.5", "v1-max": "0.1"}, "must be at least the minimum (0.5)"),
        ({"v0": "huge"}, "size: Select a valid choice."),
    ]
    for params, words in cases:
        response = table(alice_client, study, **params)
        assert response.status_code == 200
        content = response.content.decode()
        assert 'id="filter-problems"' in content and words in content, params
    kept = table(alice_client, study, **{"v1-min": "abc", "v0": "small"})
    assert shown_ids(kept) == expected  # the valid filter still applies
    assert table(alice_client, study, sort="variable-99").status_code == 200  # an unknown column sorts by id


SIZES = ["small", "medium", "large"]


def generic_study(owner: Any, make_study: Any, n: int, name: str = "Generic") -> Study:
    """A user-defined space: a text choice ``size`` and a log-scaled ``rate``, ``n`` measured rows."""
    study = make_study(owner, name=name)
    variables = [
        {"name": "size", "type": "choice", "choices": SIZES},
        {"name": "rate", "type": "log-float", "low": 0.001, "high": 1.0},
    ]
    store_config(study, space={"name": "generic", "params": {"variables": variables}})
    rng = np.random.default_rng(n)
    for i in range(n):
        Evaluation.objects.create(
            study=study,
            position=i,
            key=f"g{i}",
            x=[0.5, 0.5],
            architecture={
                "size": SIZES[int(rng.integers(3))],
                "rate": round(float(10 ** rng.uniform(-3, 0)), 5),
            },
            status=Evaluation.Status.DONE,
            objectives=[1.0, 2.0],
        )
    return study


def test_text_choices_filter_and_sort_in_their_declared_order_and_ranges_include_their_ends(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = generic_study(alice, make_study, 0)
    made = []
    for i, (size, rate) in enumerate([("large", 0.5), ("small", 0.01), ("medium", 0.2), ("small", 0.3)]):
        made.append(
            Evaluation.objects.create(
                study=study,
                position=i,
                key=f"g{i}",
                x=[0.5, 0.5],
                architecture={"size": size, "rate": rate},
                status=Evaluation.Status.DONE,
                objectives=[1.0, 2.0],
            )
        )
    large, small, medium, small2 = (e.pk for e in made)
    assert shown_ids(table(alice_client, study, sort="variable-0")) == [small, small2, medium, large]
    assert shown_ids(table(alice_client, study, sort="-variable-0")) == [large, medium, small2, small]
    assert shown_ids(table(alice_client, study, v0="small")) == [small, small2]
    assert shown_ids(table(alice_client, study, **{"v1-min": "0.2", "v1-max": "0.5"})) == [
        large,
        medium,
        small2,
    ]
    assert shown_ids(table(alice_client, study, **{"v1-min": "0.2", "v1-max": "0.2"})) == [medium]  # exact
    assert shown_ids(table(alice_client, study, sort="variable-1")) == [small, medium, small2, large]


def test_hostile_variable_names_are_escaped_in_the_columns_filters_and_side_by_side(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    study = make_study(alice, name="Hostile")
    variables = [{"name": hostile, "type": "choice", "choices": ["<b>a</b>", "b"]}]
    store_config(study, space={"name": "generic", "params": {"variables": variables}})
    made = [
        Evaluation.objects.create(
            study=study, key=k, x=[0.5], architecture={hostile: v}, status="done", objectives=[1.0, 2.0]
        )
        for k, v in (("a", "<b>a</b>"), ("b", "b"))
    ]
    pages = [
        table(alice_client, study),
        table(alice_client, study, v0="<b>a</b>", sort="-variable-0"),
        alice_client.get(reverse("studies-compare"), {"architectures": [e.pk for e in made]}),
    ]
    for response in pages:
        content = response.content.decode()
        assert response.status_code == 200
        assert "<img src=x" not in content and "<b>a</b>" not in content
        assert "&lt;img src=x onerror=alert(1)&gt;" in content
    assert shown_ids(pages[1]) == [made[0].pk]


def test_an_architecture_page_offers_to_compare_it_with_another(
    alice_client: Any, measured_study: Study
) -> None:
    evaluation = measured_study.evaluations.first()
    assert evaluation is not None
    content = alice_client.get(
        reverse("studies-architecture", args=[measured_study.pk, evaluation.pk])
    ).content.decode()
    form = content.split('class="inline compare-with"')[1].split("</form>")[0]
    assert (
        f'name="architectures" value="{evaluation.pk}"' in form
        and 'type="number" name="architectures"' in form
    )
    assert f'action="{reverse("studies-compare")}"' in content


def test_a_space_that_no_longer_builds_keeps_the_one_line_architecture_column(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = make_study(alice, name="Old space")
    [evaluation] = add_evaluations(study, [[1.0, 2.0]])
    store_config(study, space={"name": "retired-space", "params": {}})
    response = table(alice_client, study, sort="variable-0", v0="1")
    content = response.content.decode()
    assert response.status_code == 200 and shown_ids(response) == [evaluation.pk]
    assert "<th>Architecture</th>" in content and "x0=" in content
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk]))
    assert page.status_code == 200 and "<code>x0</code>" in page.content.decode()
