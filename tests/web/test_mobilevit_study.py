"""A torch study of the space extended to reach MobileViT, measuring MobileViT-XXS, XS and S too."""

from __future__ import annotations

from typing import Any

import pytest

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services.stages import network_view
from search_engine.spaces.mobilevit import REFERENCES
from tests.web.test_create_torch import CREATE, torch_form

pytest.importorskip("torch")

QUICK = {
    "evaluator-torch-resolution": "64",
    "evaluator-torch-warmup": "0",
    "evaluator-torch-repeats": "1",
    "evaluator-torch-max_repeats": "1",
    "evaluator-torch-accuracy": "none",
}
"""One timed pass at 64 px and no accuracy: the study's measurements take a second or two."""


def _mobilevit_study(client: Any, owner: Any, **changes: Any) -> Study:
    data = torch_form(client, "torch", space="hytnas-mobilevit", n_init="5", budget="7", **QUICK, **changes)
    response = client.post(CREATE, data)
    assert response.status_code == 302, response.context["form"].errors
    return Study.objects.get(owner=owner)


def test_the_form_creates_a_torch_study_of_the_extended_space(alice_client: Any, alice: Any) -> None:
    study = _mobilevit_study(alice_client, alice, **{"evaluator-torch-measure_references": "on"})
    assert study.space == {"name": "hytnas-mobilevit", "params": {}}
    params = study.evaluator["params"]
    assert params["space"] == "hytnas-mobilevit" and params["measure_references"] is True
    services.study_config(study).validate()


def test_references_on_the_original_space_are_refused_on_their_field(alice_client: Any) -> None:
    data = torch_form(alice_client, "torch", **{"evaluator-torch-measure_references": "on"})
    response = alice_client.post(CREATE, data)
    assert response.status_code == 200
    assert not Study.objects.exists()
    assert "hytnas-mobilevit" in response.content.decode()


def test_the_references_are_measured_first_and_shown_as_labelled_markers_on_the_front(
    alice_client: Any, alice: Any, rq_queues: str
) -> None:
    study = _mobilevit_study(alice_client, alice, **{"evaluator-torch-measure_references": "on"})
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="initial")
    pending = list(study.evaluations.order_by("position", "id"))
    assert len(pending) == 5  # the initial design: three references and two sampled architectures
    assert [e.architecture for e in pending[:3]] == [dict(a) for a in REFERENCES.values()]
    for evaluation in pending[:-1]:
        assert services.run_evaluation(evaluation.pk, job_id=f"measure-{evaluation.pk}") == "measured"
    study.refresh_from_db()
    seen = services.dashboard(study)["version"]  # a page open while the last one is measured
    assert services.run_evaluation(pending[-1].pk, job_id="measure-last") == "measured"
    evaluations = list(study.evaluations.order_by("position", "id"))
    assert all(e.status == Evaluation.Status.DONE for e in evaluations), [e.error for e in evaluations]
    xxs = evaluations[0]
    assert xxs.metrics["params_total"] > 0 and xxs.objectives is not None

    study.refresh_from_db()  # the measurements moved the study's version on
    figure = services.dashboard(study)["figures"]["pareto"]
    [markers] = [trace for trace in figure["data"] if trace["name"] == "reference architectures"]
    assert markers["text"] == list(REFERENCES)
    assert markers["customdata"] == [e.pk for e in evaluations[:3]]
    measured = [e.objectives[0] for e in evaluations[:3]]  # latency is the only objective
    assert markers["x"] == pytest.approx(measured, rel=1e-4)  # rounded for the page
    polled = services.dashboard_changes(study, seen)
    assert polled is not None
    [again] = [trace for trace in polled["pareto"]["overlays"] if trace["name"] == "reference architectures"]
    assert again["text"] == list(REFERENCES)  # a live update keeps the markers
    plain = [trace for trace in figure["data"] if trace["name"] == "evaluated"]
    assert len(plain[0]["x"]) == 5  # the references are points of the study too

    view = network_view(study, xxs.architecture, xxs.stage_latency)
    assert view is not None and [view.row(f"stage{s}").values["dim"] for s in (3, 4, 5)] == [64, 80, 96]
    derived = dict(services.architecture_detail(study, xxs)["derived"])
    assert [derived[f"channels, stage {s}"] for s in range(1, 6)] == ["16", "24", "48", "64", "80"]
    assert derived["transformer width, stage 5"] == "96" and derived["FFN width, stage 5"] == "192"
    assert derived["final 1×1 convolution (classification)"] == "320"


def test_a_study_without_references_draws_no_reference_markers(
    alice_client: Any, alice: Any, rq_queues: str
) -> None:
    study = _mobilevit_study(alice_client, alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="initial")
    first = study.evaluations.order_by("id").first()
    assert first is not None and first.architecture not in list(REFERENCES.values())
    assert services.run_evaluation(first.pk, job_id="measure") == "measured"
    study.refresh_from_db()  # the measurements moved the study's version on
    figure = services.dashboard(study)["figures"]["pareto"]
    assert "reference architectures" not in [trace["name"] for trace in figure["data"]]
