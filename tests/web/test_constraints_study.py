"""Bounded studies end to end: no proposal breaks a known bound; fronts, hypervolume, feasible only."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.pending_work import record_by_hand
from hytnas_web.studies.services.warm_start import copy_measurements
from search_engine.constraints import Constraint, known_bounds
from search_engine.metrics.hypervolume import hypervolume
from search_engine.types import EvaluationResult
from tests.web.external_studies import custom_space, make_external_study
from tests.web.test_jobs import drive_in_process

F1_BOUND = {"quantity": "f1", "bound": "lower", "value": 0.5}


@pytest.fixture
def bounded_zdt1(alice: Any, make_study: Any, rq_queues: str) -> Study:
    """A ZDT1 study (30 evaluations) with f1 at least 0.5, run to its budget (a wide reference point)."""
    study = make_study(alice, constraints=[F1_BOUND], ref_point=[1.1, 10.0])
    services.start_study(study)
    drive_in_process(study)
    study.refresh_from_db()
    return study


@pytest.mark.django_db(transaction=True)
def test_a_bounded_benchmark_counts_only_feasible_points_in_its_hypervolume_and_front(
    bounded_zdt1: Study,
) -> None:
    study = bounded_zdt1
    assert study.status == Study.Status.COMPLETED
    Y = np.array([e.objectives for e in study.evaluations.filter(status=Evaluation.Status.DONE)])
    feasible = Y[:, 0] >= 0.5
    assert feasible.any() and not feasible.all()  # some points of ZDT1 break the bound
    last = study.iterations.order_by("-index").first()
    assert last is not None and last.status == Iteration.Status.DONE
    reference = np.array(study.ref_point)
    assert last.hypervolume == pytest.approx(hypervolume(Y[feasible], reference))
    assert last.hypervolume < hypervolume(Y, reference)  # the unconstrained front would count more

    figure = services.dashboard(study)["figures"]["pareto"]
    traces = {trace["name"]: trace for trace in figure["data"]}
    assert all(x >= 0.5 for x in traces["Pareto front"]["x"])
    grey = traces["breaks a bound"]
    assert len(grey["x"]) == int((~feasible).sum()) and all(x < 0.5 for x in grey["x"])
    assert all(text.startswith("f1 at least 0.5 (by ") for text in grey["text"])
    assert figure["layout"]["shapes"][0]["x0"] == 0.5  # the bound drawn on f1's axis
    assert "f1 at least 0.5" in figure["layout"]["annotations"][0]["text"]


@pytest.mark.django_db(transaction=True)
def test_a_study_with_nothing_feasible_yet_says_so(alice: Any, make_study: Any, rq_queues: str) -> None:
    study = make_study(alice, constraints=[{"quantity": "f1", "bound": "upper", "value": -1.0}])
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="initial")
    study.refresh_from_db()
    figure = services.dashboard(study)["figures"]["pareto"]
    assert figure["layout"]["title"]["text"].startswith("No measured architecture meets every bound yet")
    assert not next(t for t in figure["data"] if t["name"] == "Pareto front")["x"]


def params_bound(study_config: Any) -> float:
    """A parameter budget about half of the HyT-NAS space meets (the median of sampled architectures)."""
    probe = study_config.with_changes(constraints=(Constraint("params", "upper", 1e12),))
    bounds = known_bounds(probe)
    assert bounds is not None
    X = bounds.space.sample_uniform(400, np.random.default_rng(3))
    return float(np.median(bounds.values(X)["params"]))


@pytest.mark.django_db
def test_a_hytnas_study_with_a_parameter_budget_never_proposes_an_architecture_over_it(
    alice: Any, rq_queues: str
) -> None:
    plain = make_external_study(alice, name="probe")
    limit = params_bound(services.study_config(plain))
    study = make_external_study(
        alice,
        constraints=[{"quantity": "params", "bound": "upper", "value": limit}],
        budget=9,
        batch_size=3,
    )
    services.start_study(study)
    for index in range(3):
        services.run_iteration(study.pk, index, job_id="propose")
        for n, evaluation in enumerate(study.evaluations.filter(status=Evaluation.Status.PENDING)):
            record_by_hand(evaluation, EvaluationResult((70.0 + n, 10.0 - n)), alice)
        services.run_iteration(study.pk, index, job_id="finish")
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED and study.evaluations.count() == 9
    config = services.study_config(study)
    bounds = known_bounds(config)
    assert bounds is not None
    X = np.array([e.x for e in study.evaluations.order_by("id")])
    assert bounds.feasible(X).all(), bounds.values(X)["params"]
    summary = services.budget_summary(study)
    assert summary is not None and summary.share is not None and 0.2 < summary.share < 0.8


@pytest.mark.django_db(transaction=True)
def test_the_table_export_architecture_page_and_compare_show_feasibility(
    bounded_zdt1: Study, alice_client: Any, make_study: Any, alice: Any
) -> None:
    study = bounded_zdt1
    done = list(study.evaluations.filter(status=Evaluation.Status.DONE).order_by("id"))
    broken = next(e for e in done if e.objectives[0] < 0.5)
    met = next(e for e in done if e.objectives[0] >= 0.5)

    response = alice_client.get(reverse("studies-export-evaluations", args=[study.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[broken.pk]["feasible"] == "false" and by_id[met.pk]["feasible"] == "true"
    assert float(by_id[broken.pk]["violation f1>=0.5"]) == pytest.approx(0.5 - broken.objectives[0])
    assert float(by_id[met.pk]["violation f1>=0.5"]) == 0.0
    pareto = alice_client.get(reverse("studies-export-pareto", args=[study.pk]))
    front = list(csv.DictReader(io.StringIO(b"".join(pareto.streaming_content).decode())))
    assert front and all(r["feasible"] == "true" for r in front)

    table = alice_client.get(reverse("studies-architectures", args=[study.pk])).content.decode()
    assert "<th>Feasible</th>" in table and "f1 at least 0.5: over by" in table
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, broken.pk])).content.decode()
    assert "f1 at least 0.5: <strong>broken</strong> by" in page
    assert "not on the front: it breaks a bound" in page
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, met.pk])).content.decode()
    assert "f1 at least 0.5: met" in page

    # The same measurements without the bound: compare counts only the bounded study's feasible points.
    free = make_study(alice, name="Unbounded copy", ref_point=[1.1, 10.0])
    copy_measurements(study, free)
    comparison = services.compare_studies([study, free])
    bounded_front, free_front = comparison.fronts
    assert np.all(bounded_front[:, 0] >= 0.5) and np.any(free_front[:, 0] < 0.5)
    reference = np.array(comparison.ref_point)
    assert comparison.summary[0]["hypervolume"] == pytest.approx(hypervolume(bounded_front, reference))
    assert hypervolume(bounded_front, reference) < hypervolume(free_front, reference)


@pytest.mark.django_db
def test_a_bound_on_a_measured_metric_steers_the_next_batch_and_counts_in_the_hypervolume(
    alice: Any, rq_queues: str
) -> None:
    study = make_external_study(
        alice,
        space=custom_space(),
        metrics=["energy_mj"],
        constraints=[{"quantity": "energy_mj", "bound": "upper", "value": 5.0}],
        ref_point=[0.0, 20.0],
    )
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="propose")
    measured = [((70.0, 10.0), 3.0), ((90.0, 2.0), 7.0), ((60.0, 12.0), 4.0)]  # the best breaks the bound
    for evaluation, (objectives, energy) in zip(study.evaluations.order_by("id"), measured, strict=True):
        record_by_hand(evaluation, EvaluationResult(objectives, metrics={"energy_mj": energy}), alice)
    services.run_iteration(study.pk, 0, job_id="finish")
    first = study.iterations.get(index=0)
    # accuracy is maximised: in minimisation form (-70, 10) against (0, 20) alone, (-60, 12) dominated.
    assert first.hypervolume == pytest.approx(70.0 * 10.0)
    services.run_iteration(study.pk, 1, job_id="propose")
    proposing = study.iterations.get(index=1)
    assert "n_likely_infeasible_passed_over" in proposing.diagnostics
    assert study.evaluations.filter(status=Evaluation.Status.PENDING).count() == 2
