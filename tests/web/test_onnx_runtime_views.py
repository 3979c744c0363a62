"""What a measurement in ONNX Runtime shows: the runtime in words, the whole graph, post-processing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from tests.web.hardware_rows import PI, add_row, remote_study

ORT_METRICS = {
    "latency_ms": 23.5,
    "latency_whole_graph_ms": 19.25,
    "latency_runtime": "ONNX Runtime 1.32.0",
    "latency_runtime_settings": "CPU execution provider, 1 intra-op / 1 inter-op thread(s), sequential "
    "execution, all graph optimizations, int8, ONNX opset 17",
    "latency_precision": "int8",
    "onnx_export_s": 1.5,
}
STAGES = {"backbone": 12.0, "neck": 5.0, "head": 3.0, "postprocess": 3.5}


def test_the_architecture_page_says_which_runtime_measured_it_and_the_whole_graph(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    evaluation = add_row(study, device=PI, metrics=ORT_METRICS, stage_latency=STAGES)
    response = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk]))
    detail = response.context["detail"]
    assert ("Latency measured in", "ONNX Runtime 1.32.0") in detail["measurements"]
    assert ("Whole network as one ONNX graph, median (ms)", 19.25) in detail["measurements"]
    assert [row["stage"] for row in detail["stages"]] == ["backbone", "neck", "head", "postprocess"]
    content = response.content.decode()
    for shown in ("ONNX Runtime 1.32.0", "sequential execution, all graph optimizations, int8", "19.25"):
        assert shown in content, shown


def test_the_post_processing_stage_is_charted_and_exported_with_the_runtime(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    add_row(study, objectives=[1500.0, 23.5], metrics=ORT_METRICS, stage_latency=STAGES)
    figures = services.dashboard(study)["figures"]
    traces = {trace["name"]: trace["y"] for trace in figures["stage_latency"]["data"]}
    assert traces == {"backbone": [12.0], "neck": [5.0], "head": [3.0], "postprocess": [3.5]}
    response = alice_client.get(reverse("studies-export-evaluations", args=[study.pk]))
    text = b"".join(response.streaming_content).decode()
    header, row = list(csv.reader(io.StringIO(text, newline="")))
    exported = dict(zip(header, row, strict=True))
    assert exported["latency_postprocess_ms"] == "3.5"
    assert exported["latency_runtime"] == "ONNX Runtime 1.32.0"
    assert exported["latency_runtime_settings"] == ORT_METRICS["latency_runtime_settings"]
