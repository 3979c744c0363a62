"""The Pareto chart's hover reads a HyT-NAS architecture as its network: one line per stage."""

from __future__ import annotations

from typing import Any

from hytnas_web.studies.models import Evaluation, Study
from search_engine.spaces.hytnas import stage_channels
from tests.web.test_architectures_view import hytnas_study
from tests.web.test_dashboard_data import data


def hover_of(trace: dict[str, Any], evaluation: Evaluation) -> str:
    return str(trace["text"][trace["customdata"].index(evaluation.pk)])


def test_every_point_and_the_front_hover_with_a_line_per_stage(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = hytnas_study(alice, make_study, 6)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    payload = data(alice_client, study).json()
    points, front = payload["figures"]["pareto"]["data"][:2]
    evaluation = study.evaluations.get(pk=front["customdata"][0])
    for trace in (points, front):
        text = hover_of(trace, evaluation)
        lines = text.split("<br>")
        stage3 = next(line for line in lines if line.startswith("stage 3: "))
        assert f"{stage_channels(evaluation.architecture)[2]} ch" in stage3 and "params" in stage3
        assert [line.split(":")[0] for line in lines if line.startswith(("stage", "network"))] == [
            *(f"stage {s}" for s in range(1, 6)),
            "network",
        ]
        assert "\n" not in text


def test_other_spaces_keep_their_compact_hover(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    Evaluation.objects.create(
        study=study,
        key="a",
        x=[0.5] * 4,
        architecture={"x0": 0.25, "x1": 0.5},
        status=Evaluation.Status.DONE,
        objectives=[0.2, 0.8],
    )
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    points = data(alice_client, study).json()["figures"]["pareto"]["data"][0]
    assert "x0" in points["text"][0] and "stage 1" not in points["text"][0]
