"""Which device measured each architecture: tables, the architecture page, CSV export, per-stage charts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from tests.web.hardware_rows import LAPTOP, LAPTOP_LABEL, PI, PI_LABEL, add_row, remote_study

TORCH_METRICS = {
    "latency_ms": 21.5,
    "latency_p10_ms": 20.25,
    "latency_p90_ms": 24.75,
    "params_backbone": 123456.0,
    "macs_backbone": 9876543.5,
    "params_classifier": 650.0,
    "macs_classifier": 640.0,
    "params_total": 124106.0,
    "macs_total": 9877183.5,
    "latency_classifier_ms": 0.125,
    "peak_rss_mb": 312.5,
    "peak_rss_increase_mb": 12.0,
    "accuracy_proxy": 1501.0,
    "board_temperature_c": 61.0,
}


def export(client: Any, study: Study) -> list[dict[str, str]]:
    response = client.get(reverse("studies-export-evaluations", args=[study.pk]))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    header, *body = list(csv.reader(io.StringIO(text, newline="")))
    return [dict(zip(header, row, strict=True)) for row in body]


def test_the_evaluations_export_names_the_device_of_each_row(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    add_row(study, device=PI)
    add_row(study, status=Evaluation.Status.FAILED, device=LAPTOP, error="ran out of memory")
    add_row(study, status=Evaluation.Status.PENDING)
    hostile = add_row(study, device={"name": '=HYPERLINK("http://x")', "cpu_count": 2})
    records = {int(r["id"]): r for r in export(alice_client, study)}
    measured, failed, pending = (records[pk] for pk in sorted(records)[:3])
    assert measured["device"] == PI_LABEL and json.loads(measured["device_json"]) == PI
    assert failed["device"] == LAPTOP_LABEL and json.loads(failed["device_json"]) == LAPTOP
    assert pending["device"] == pending["device_json"] == ""
    assert records[hostile.pk]["device"] == '\'=HYPERLINK("http://x") (2 cores)'


def test_an_exported_study_with_devices_imports_back(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    source = remote_study(make_study, alice)
    add_row(source, device=PI, architecture=_hytnas_architecture())
    text = b"".join(
        alice_client.get(reverse("studies-export-evaluations", args=[source.pk])).streaming_content
    )
    target = remote_study(make_study, alice, name="warm start")
    result = services.import_evaluations(target, text)
    assert not result.errors, result.errors
    assert result.n_imported == 1 and target.evaluations.count() == 1


def _hytnas_architecture() -> dict[str, Any]:
    import numpy as np

    from search_engine.spaces.hytnas import HyTNASSpace

    return dict(HyTNASSpace().decode(np.full((1, 23), 0.5))[0])


def test_the_architectures_table_shows_the_device_for_a_study_measured_on_devices(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    add_row(study, device=PI)
    add_row(study, status=Evaluation.Status.PENDING)
    response = alice_client.get(reverse("studies-architectures", args=[study.pk]))
    content = response.content.decode()
    assert "<th>Device</th>" in content
    assert f'<td class="device">{PI_LABEL}</td>' in content
    assert '<td class="device">—</td>' in content  # the pending one has no device yet


def test_a_benchmark_study_has_no_device_column(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice)
    add_row(study, objectives=[0.5, 0.5])
    for name in ("studies-architectures", "studies-detail"):
        assert "<th>Device</th>" not in alice_client.get(reverse(name, args=[study.pk])).content.decode()


def test_the_dashboard_lists_the_device_of_recent_evaluations(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice, evaluator="torch")
    add_row(study, device=LAPTOP)
    content = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "<th>Device</th>" in content and f'<td class="device">{LAPTOP_LABEL}</td>' in content
    data = alice_client.get(reverse("studies-dashboard-data", args=[study.pk])).json()
    assert LAPTOP_LABEL in data["html"]["evaluations"]


def test_an_architecture_page_describes_its_device_and_the_measured_sizes(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    evaluation = add_row(study, device=PI, metrics=TORCH_METRICS, stage_latency={"backbone": 21.0})
    response = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk]))
    detail = response.context["detail"]
    assert detail["device_label"] == PI_LABEL
    assert detail["device"][:3] == [
        ("Name", "Pi 5, lab bench"),
        ("Host name", "pi5"),
        ("Operating system", "Linux"),
    ]
    assert ("Memory (MiB)", "8063") in detail["device"] and ("PyTorch", "2.13.0") in detail["device"]
    assert detail["parts"] == [
        {"part": "backbone", "params": 123456, "macs": 9876544},
        {"part": "classifier", "params": 650, "macs": 640},
        {"part": "total", "params": 124106, "macs": 9877184},
    ]  # classification: no neck or head
    assert ("End-to-end latency, 10th percentile (ms)", 20.25) in detail["measurements"]
    assert ("Peak memory of the measuring process (MB)", 312.5) in detail["measurements"]
    assert detail["other_metrics"] == [("board_temperature_c", 61.0)]
    content = response.content.decode()
    for shown in ("Cortex-A76", "aarch64", "6.6.31+rpt-rpi-2712", "8063", "123,456", "9,876,544", "24.75"):
        assert shown in content, shown
    assert "board_temperature_c" in content


def test_an_unmeasured_architecture_says_it_has_no_device_yet(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    evaluation = add_row(study, status=Evaluation.Status.PENDING)
    content = alice_client.get(
        reverse("studies-architecture", args=[study.pk, evaluation.pk])
    ).content.decode()
    assert "No device was recorded for this architecture: it has not been measured yet." in content


def test_per_stage_latency_charts_take_torch_results_with_or_without_neck_and_head(
    alice: User, make_study: Callable[..., Study]
) -> None:
    classification = remote_study(make_study, alice)
    add_row(classification, objectives=[1500.0, 20.0], stage_latency={"backbone": 19.5})
    add_row(classification, objectives=[1400.0, 10.0], stage_latency={"backbone": 9.5})
    figures = services.dashboard(classification)["figures"]
    assert [trace["name"] for trace in figures["stage_latency"]["data"]] == ["backbone"]
    assert figures["stage_latency"]["data"][0]["y"] == [9.5, 19.5]
    assert figures["stage_share"]["data"][0]["x"] == [1.0, 1.0]

    detection = remote_study(make_study, alice, name="detection")
    add_row(detection, objectives=[1500.0, 20.0], stage_latency={"backbone": 12.0, "neck": 5.0, "head": 3.0})
    add_row(detection, objectives=[1400.0, 10.0], stage_latency={"backbone": 9.0})  # an older worker's report
    figures = services.dashboard(detection)["figures"]
    traces = {trace["name"]: trace["y"] for trace in figures["stage_latency"]["data"]}
    assert traces == {"backbone": [9.0, 12.0], "neck": [0.0, 5.0], "head": [0.0, 3.0]}
