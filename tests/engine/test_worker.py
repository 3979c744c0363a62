"""The evaluation worker's local parts: report bodies, the spool, options, evaluator building.

The worker talking to a real web server is tested end to end with the web tests; here nothing
listens on the network.
"""

from __future__ import annotations

import json
import logging
import math
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search_engine.types import EvaluationResult
from search_engine.worker import (
    MAX_ERROR_CHARS,
    ApiClient,
    ApiError,
    Backoff,
    LeaseKeeper,
    Spool,
    Worker,
    WorkerOptions,
    evaluate_claimed,
    main,
    report_payload,
)

DEVICE = {"name": "bench board", "hostname": "pi", "machine": "aarch64", "cpu_count": 4}
LEASE = "7f1c2a9e-0000-4000-8000-000000000001"
SERVER = "https://studio.example.org"


def claimed(evaluator: dict[str, Any], architecture: dict[str, Any], objectives: list[str]) -> dict[str, Any]:
    """One entry of a claim's ``evaluations``, as the API sends it."""
    return {
        "id": 17,
        "study": {"id": 3, "name": "pi latency"},
        "key": "k",
        "architecture": architecture,
        "evaluator": evaluator,
        "objectives": [{"name": name, "direction": "min", "unit": ""} for name in objectives],
    }


def zdt1_claim(**params: Any) -> dict[str, Any]:
    evaluator = {"name": "benchmark", "params": {"problem": "zdt1", "n_var": 2, **params}}
    return claimed(evaluator, {"x0": 0.25, "x1": 0.0}, ["f1", "f2"])


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- report bodies -------------------------------------------------------------------------------


def test_done_report_keeps_objectives_in_order_and_drops_non_finite_metrics() -> None:
    result = EvaluationResult(
        objectives=(18.5, 3.25),
        stage_latency={"backbone": 2.0, "neck": 0.75, "head": 0.5},
        metrics={
            "params_total": np.float64(1.5e5),
            "peak_rss_mb": float("nan"),
            "note": "cold",
            "big": math.inf,
        },
        seconds=4.5,
    )
    payload = report_payload(result, LEASE, DEVICE)
    assert payload == {
        "lease": LEASE,
        "status": "done",
        "objectives": [18.5, 3.25],
        "stage_latency": {"backbone": 2.0, "neck": 0.75, "head": 0.5},
        "metrics": {"params_total": 150000.0, "note": "cold"},
        "seconds": 4.5,
        "device": DEVICE,
    }
    json.dumps(payload, allow_nan=False)  # what the client sends: raises on any NaN left


def test_failed_report_carries_the_reason_and_no_objectives() -> None:
    payload = report_payload(EvaluationResult.failure("ran out of memory", seconds=2.0), LEASE, DEVICE)
    assert payload["status"] == "failed"
    assert payload["error"] == "ran out of memory"
    assert payload["seconds"] == 2.0
    assert "objectives" not in payload and "stage_latency" not in payload


def test_non_finite_objective_is_reported_as_a_failure_not_sent_as_a_number() -> None:
    payload = report_payload(EvaluationResult(objectives=(1.0, float("inf"))), LEASE, DEVICE)
    assert payload["status"] == "failed"
    assert payload["error"] == "objective 1 is not a finite number"
    json.dumps(payload, allow_nan=False)


def test_failure_without_a_reason_still_says_something() -> None:
    payload = report_payload(EvaluationResult(objectives=None, error="  "), LEASE, DEVICE)
    assert payload["status"] == "failed" and payload["error"].strip()  # the API refuses an empty reason


def test_very_long_error_is_cut_to_what_the_server_accepts() -> None:
    payload = report_payload(EvaluationResult.failure("x" * 50_000), LEASE, DEVICE)
    assert len(payload["error"]) == MAX_ERROR_CHARS


# --- spool ---------------------------------------------------------------------------------------


def test_spooled_report_survives_a_restart_until_removed(tmp_path: Path) -> None:
    Spool(tmp_path, SERVER).put(17, {"lease": LEASE, "status": "failed", "error": "boom"})

    restarted = Spool(tmp_path, SERVER)  # a new process on the same folder
    [report] = restarted.pending()
    assert report.evaluation == 17
    assert report.payload == {"lease": LEASE, "status": "failed", "error": "boom"}

    restarted.remove(report)
    assert restarted.pending() == []
    assert list(tmp_path.iterdir()) == []  # no temporary files left behind either


def test_spool_keeps_one_report_per_evaluation_and_lists_oldest_first(tmp_path: Path) -> None:
    spool = Spool(tmp_path, SERVER)
    spool.put(5, {"status": "failed", "error": "first"})
    spool.put(9, {"status": "failed", "error": "second"})
    spool.put(5, {"status": "failed", "error": "again"})  # the same evaluation rewritten, not duplicated
    reports = spool.pending()
    assert sorted(r.evaluation for r in reports) == [5, 9]
    assert {r.evaluation: r.payload["error"] for r in reports} == {5: "again", 9: "second"}


def test_spool_only_resends_reports_for_its_own_server(tmp_path: Path) -> None:
    Spool(tmp_path, "https://other.example.org").put(17, {"status": "failed", "error": "elsewhere"})
    assert Spool(tmp_path, SERVER).pending() == []
    assert len(Spool(tmp_path, "https://other.example.org").pending()) == 1


def test_corrupt_spool_file_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, SERVER)
    good = spool.put(4, {"status": "failed", "error": "fine"})
    assert good.path is not None
    broken = good.path.with_name(good.path.name.replace("-4.json", "-5.json"))
    broken.write_text('{"server": "https://studio.exa', encoding="utf-8")  # cut off mid-write

    with caplog.at_level(logging.WARNING, logger="search_engine.worker"):
        reports = Spool(tmp_path, SERVER).pending()

    assert [r.evaluation for r in reports] == [4]
    assert "skipping unreadable spooled report" in caplog.text and broken.name in caplog.text
    assert not broken.exists() and broken.with_name(broken.name + ".corrupt").exists()
    assert [r.evaluation for r in Spool(tmp_path, SERVER).pending()] == [4]  # not reported twice


# --- options -------------------------------------------------------------------------------------


def test_worker_refuses_to_start_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HYTNAS_WORKER_TOKEN", raising=False)
    assert main(["--server", SERVER]) == 2
    error = capsys.readouterr().err
    assert "no worker token" in error and "HYTNAS_WORKER_TOKEN" in error


def test_worker_needs_a_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--token", "hyt_x"]) == 2
    assert "--server" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--batch", "0", "between 1 and 64"),
        ("--batch", "65", "between 1 and 64"),
        ("--lease", "10", "between 30 and 86400"),
        ("--poll", "-1", "positive number of seconds"),
        ("--threads", "two", "whole number"),
    ],
)
def test_out_of_range_options_are_refused_with_the_bounds(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--server", SERVER, "--token", "hyt_x", option, value]) == 2
    assert message in capsys.readouterr().err


def test_server_must_be_an_http_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--server", "studio.example.org", "--token", "hyt_x"]) == 2
    assert "http:// or https://" in capsys.readouterr().err


# --- building and running the claimed evaluator --------------------------------------------------


def test_unknown_evaluator_becomes_a_failed_report_naming_it() -> None:
    evaluation = claimed({"name": "nope", "params": {}}, {"x0": 0.5}, ["f1"])
    result = evaluate_claimed(evaluation)
    payload = report_payload(result, LEASE, DEVICE)
    assert payload["status"] == "failed"
    assert "unknown evaluator 'nope'" in payload["error"]
    assert "torch" in payload["error"]  # the known ones are listed


def test_bad_evaluator_setting_becomes_a_failed_report_naming_the_field() -> None:
    result = evaluate_claimed(zdt1_claim(n_var=1))
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("bad evaluator settings: evaluator.params.n_var")


def test_evaluator_measuring_other_objectives_than_the_study_is_a_failure() -> None:
    evaluation = zdt1_claim()
    evaluation["objectives"] = evaluation["objectives"][:1]
    result = evaluate_claimed(evaluation)
    assert result.error == "the study expects objectives ['f1'], evaluator 'benchmark' measures ['f1', 'f2']"


def test_architecture_outside_the_space_fails_without_stopping_the_worker() -> None:
    evaluation = zdt1_claim()
    evaluation["architecture"] = {"x0": 0.5}  # x1 missing
    result = evaluate_claimed(evaluation)
    assert not result.ok and result.error


def test_claimed_benchmark_is_measured_and_threads_override_is_ignored_where_it_does_not_apply() -> None:
    result = evaluate_claimed(zdt1_claim(), threads=4)  # the benchmark has no threads setting
    assert result.ok
    assert result.objectives == pytest.approx((0.25, 0.5))  # ZDT1 at x = (0.25, 0): f2 = 1 - sqrt(0.25)


def test_claimed_torch_evaluation_reports_objectives_and_stage_latency() -> None:
    pytest.importorskip("torch")
    from search_engine.spaces.hytnas import HyTNASSpace

    smallest = {var.name: var.choices[0] for var in HyTNASSpace().variables}
    params = {"resolution": 32, "repeats": 1, "warmup": 0, "batch_size": 2, "threads": 2}
    evaluation = claimed({"name": "torch", "params": params}, smallest, ["accuracy_proxy", "latency"])

    payload = report_payload(evaluate_claimed(evaluation, threads=1), LEASE, DEVICE)

    assert payload["status"] == "done", payload.get("error")
    accuracy, latency = payload["objectives"]
    assert latency == payload["metrics"]["latency_ms"] > 0
    assert accuracy == payload["metrics"]["accuracy_proxy"]
    assert set(payload["stage_latency"]) == {"backbone", "neck", "head", "postprocess"}
    json.dumps(payload, allow_nan=False)


# --- network trouble -----------------------------------------------------------------------------


def test_unreachable_server_is_a_retryable_error_not_a_crash() -> None:
    client = ApiClient(f"http://127.0.0.1:{closed_port()}", "hyt_x", timeout=2.0)
    with pytest.raises(ApiError) as caught:
        client.whoami()
    assert caught.value.status == 0 and caught.value.retryable
    assert "no answer from" in str(caught.value)


def test_lease_is_not_given_up_while_the_network_is_down() -> None:
    client = ApiClient(f"http://127.0.0.1:{closed_port()}", "hyt_x", timeout=2.0)
    keeper = LeaseKeeper(client, LEASE, lease_seconds=60)
    assert keeper.interval == 20.0
    assert keeper.extend_once() is True
    assert not keeper.lost.is_set()


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (409, False)]
)
def test_only_passing_troubles_are_retried(status: int, retryable: bool) -> None:
    assert ApiError(status, "x").retryable is retryable


def test_backoff_doubles_from_one_second_up_to_a_minute_and_resets() -> None:
    backoff = Backoff()
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    backoff.reset()
    assert backoff.next() == 1


def test_idle_worker_waits_as_the_server_asks_unless_told_otherwise(tmp_path: Path) -> None:
    client = ApiClient(f"http://127.0.0.1:{closed_port()}", "hyt_x")
    spool = Spool(tmp_path, client.server)
    default = Worker(client, spool, DEVICE, WorkerOptions())
    assert default._idle_wait({"retry_after_seconds": 7}) == 7
    assert default._idle_wait({"retry_after_seconds": 1e9}) == 600  # bounded
    assert default._idle_wait({}) == 10
    told = Worker(client, spool, DEVICE, WorkerOptions(poll_seconds=0.5))
    assert told._idle_wait({"retry_after_seconds": 7}) == 0.5
