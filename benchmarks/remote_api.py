"""What the remote evaluation path costs per evaluation, over real HTTP to a real gunicorn process.

A throwaway environment: a temporary SQLite database (migrated), Redis db 6 at 127.0.0.1:6379 when
it answers (else an embedded server), a ``remote`` study with the torch evaluator's defaults
(detection, 224 px) whose initial design is large enough for every measurement below, started and
its iteration 0 run in this process so the whole design waits for workers, a worker token, and
``gunicorn hytnas_web.wsgi:application`` (1 worker, 2 threads) on the same database and Redis.
This process then plays the worker with the worker's own ``ApiClient`` (a new connection per
request, as the worker makes them) and report bodies built by the worker's ``report_payload``
from real torch measurements:

- (a) one evaluation at a time, the worker's default: ``claim`` of 1 + ``report`` (done), ``--n`` times;
- (b) a lease extension (the worker extends every lease_seconds / 3, i.e. every 200 s by default),
  ``--extensions`` times on one held lease;
- (c) ``--batches`` claims of ``--batch`` evaluations, each followed by its reports, per evaluation.

Baselines in the same run:

1. the write alone, in this process: ``record_result`` on other pending evaluations, which is what
   an RQ evaluation job does after measuring (interleaved with (a), one every few rounds);
2. the same claim + report through the service functions the API views call, without HTTP (shows
   what the request stack itself adds);
3. one ``torch`` evaluation at the evaluator's defaults of ``--torch-n`` random HyT-NAS
   architectures (``sample_uniform``, seed 0, as benchmarks/torch_evaluator.py), after one untimed
   evaluation that pays torch's one-off set-up: the API overhead is given as a percentage of it.

Timings are client-side wall clock (``perf_counter``); median and 90th percentile. The machine is
shared: ``os.getloadavg()`` is recorded at the start and end. The server process, the embedded
Redis (if any) and the temporary files are removed at the end; Redis db 6 is emptied again when it
was empty at the start (else it is left alone, with a note).

    .venv/bin/python benchmarks/remote_api.py [--n 150] [--batch 16] [--batches 2] [--extensions 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.server_setup import SHARED_REDIS, load, redis_for_run, web_server  # noqa: E402
from search_engine.devices import describe_device  # noqa: E402
from search_engine.registry import EVALUATORS  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace  # noqa: E402
from search_engine.types import EvaluationResult  # noqa: E402
from search_engine.worker.client import ApiClient  # noqa: E402
from search_engine.worker.measure import report_payload  # noqa: E402

SEED = 0
WARMUP_ROUNDS = 3  # untimed claim + report rounds: the server's imports, first connections
LEASE_SECONDS = 600  # the worker's default


def stats_ms(values: list[float]) -> dict[str, float]:
    """Median, 90th percentile, smallest and largest of millisecond timings."""
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p90": float(np.percentile(values, 90)),
        "min": min(values),
        "max": max(values),
    }


def timed_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Milliseconds of one call of ``fn`` and its result."""
    tick = time.perf_counter()
    result = fn()
    return (time.perf_counter() - tick) * 1e3, result


def remote_study(n_init: int) -> tuple[Any, str, Any]:
    """A started remote study whose ``n_init`` evaluations wait for workers; (study, token secret, token)."""
    from django.contrib.auth.models import User

    from hytnas_web.studies import services
    from hytnas_web.studies.models import Evaluation
    from search_engine.config import StudyConfig

    config = {
        "space": {"name": "hytnas", "params": {}},
        "evaluator": {"name": "remote", "params": {"task": "detection", "resolution": 224}},
        "objectives": [
            {"name": "accuracy_proxy", "direction": "max", "unit": "score"},
            {"name": "latency", "direction": "min", "unit": "ms"},
        ],
        "sampler": {"name": "lhs", "params": {}},
        "surrogate": {"name": "xgboost", "params": {"n_estimators": 20}},
        "acquisition": {"name": "identity", "params": {}},
        "solver": {"name": "nsga2", "params": {"pop_size": 12, "n_gen": 3}},
        "selection": {"name": "hvi", "params": {}},
        "n_init": n_init,
        "batch_size": 16,
        "budget": n_init,
        "seed": SEED,
    }
    owner = User.objects.create_user("bench", password="unused-password-for-benchmark")
    study = services.save_study(owner, "remote API benchmark", StudyConfig.from_dict(config))
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="bench")
    pending = study.evaluations.filter(status=Evaluation.Status.PENDING).count()
    assert pending == n_init, f"{pending} evaluations wait for workers, expected {n_init}"
    issued = services.issue_token(owner, "benchmark", study)
    return study, issued.secret, issued.token


def torch_baseline(n: int) -> dict[str, Any]:
    """One ``torch`` evaluation at its defaults (detection, 224 px) of ``n`` random architectures."""
    space = HyTNASSpace()
    architectures = space.decode(space.sample_uniform(n, np.random.default_rng(SEED)))
    evaluator = EVALUATORS.build("torch", {"task": "detection", "resolution": 224})
    tick = time.perf_counter()
    evaluator.evaluate([architectures[0]])  # torch's one-off set-up, not counted
    process_warmup_s = time.perf_counter() - tick
    results: list[EvaluationResult] = []
    times: list[float] = []
    for architecture in architectures:
        tick = time.perf_counter()
        [result] = evaluator.evaluate([architecture])
        ms = (time.perf_counter() - tick) * 1e3
        assert result.ok, result.error
        results.append(result)
        times.append(ms)
        print(f"  torch evaluation: {ms / 1e3:.2f} s", flush=True)
    return {"process_warmup_s": process_warmup_s, "ms": times, "stats": stats_ms(times), "results": results}


def one_at_a_time(
    client: ApiClient,
    device: dict[str, Any],
    results: list[EvaluationResult],
    n: int,
    in_process: Callable[[EvaluationResult], float],
    baseline_every: int,
) -> dict[str, Any]:
    """(a) claim of 1 + report, ``n`` times; every ``baseline_every`` rounds one in-process write too."""
    claims, reports, totals, writes = [], [], [], []
    for i in range(n):
        result = results[i % len(results)]
        tick = time.perf_counter()
        claim = client.claim(1, LEASE_SECONDS, device, None)
        claimed = time.perf_counter()
        [evaluation] = claim["evaluations"]
        status, _ = client.report(evaluation["id"], report_payload(result, claim["lease"]["id"], device))
        done = time.perf_counter()
        assert status == 201, status
        claims.append((claimed - tick) * 1e3)
        reports.append((done - claimed) * 1e3)
        totals.append((done - tick) * 1e3)
        if i % baseline_every == 0:
            writes.append(in_process(result))
    return {
        "claim_ms": stats_ms(claims),
        "report_ms": stats_ms(reports),
        "per_evaluation_ms": stats_ms(totals),
        "in_process_write_ms": stats_ms(writes),
    }


def batched(
    client: ApiClient, device: dict[str, Any], results: list[EvaluationResult], size: int, batches: int
) -> dict[str, Any]:
    """(c) ``batches`` claims of ``size`` evaluations, each followed by its ``size`` reports."""
    claims, reports, per_evaluation = [], [], []
    for _ in range(batches):
        tick = time.perf_counter()
        claim = client.claim(size, LEASE_SECONDS, device, None)
        claim_ms = (time.perf_counter() - tick) * 1e3
        assert len(claim["evaluations"]) == size, len(claim["evaluations"])
        lease = claim["lease"]["id"]
        batch_reports = []
        for k, evaluation in enumerate(claim["evaluations"]):
            payload = report_payload(results[k % len(results)], lease, device)
            tick = time.perf_counter()
            status, _ = client.report(evaluation["id"], payload)
            ms = (time.perf_counter() - tick) * 1e3
            assert status == 201, status
            batch_reports.append(ms)
        claims.append(claim_ms)
        reports.extend(batch_reports)
        per_evaluation.append((claim_ms + sum(batch_reports)) / size)
    return {
        "size": size,
        "claim_ms": stats_ms(claims),
        "report_ms": stats_ms(reports),
        "per_evaluation_ms": {
            "batches": per_evaluation,
            "mean": statistics.fmean(per_evaluation),
            "claim_share": sum(claims) / (sum(claims) + sum(reports)),
        },
    }


def extensions(client: ApiClient, device: dict[str, Any], n: int) -> dict[str, Any]:
    """(b) ``n`` extensions of one lease holding one pending evaluation."""
    claim = client.claim(1, LEASE_SECONDS, device, None)
    lease = claim["lease"]["id"]
    times = []
    for _ in range(n):
        ms, answer = timed_ms(lambda: client.extend(lease, LEASE_SECONDS))
        assert answer["evaluations"] == [claim["evaluations"][0]["id"]], answer
        times.append(ms)
    return {"extend_ms": stats_ms(times)}


def services_path(
    token: Any, device: dict[str, Any], results: list[EvaluationResult], n: int
) -> dict[str, Any]:
    """Baseline 2: claim of 1 + report through the API's service functions, in this process, no HTTP."""
    from hytnas_web.studies.services.api_payloads import ClaimRequest
    from hytnas_web.studies.services.remote_work import claim_evaluations, report_evaluation

    times = []
    for i in range(n):
        tick = time.perf_counter()
        claim = claim_evaluations(
            token, ClaimRequest(max_evaluations=1, lease_seconds=LEASE_SECONDS, device=dict(device))
        )
        assert claim.lease is not None
        payload = report_payload(results[i % len(results)], str(claim.lease.pk), device)
        outcome = report_evaluation(token, claim.evaluations[0].id, payload)
        times.append((time.perf_counter() - tick) * 1e3)
        assert outcome == "recorded", outcome
    return {"per_evaluation_ms": stats_ms(times)}


def in_process_writer(study: Any, device: dict[str, Any]) -> Callable[[EvaluationResult], float]:
    """Baseline 1: ``record_result`` on the highest-numbered pending evaluation (claims take the lowest)."""
    from hytnas_web.studies.models import Evaluation
    from hytnas_web.studies.services.evaluations import record_result

    def write(result: EvaluationResult) -> float:
        evaluation = Evaluation.objects.filter(study=study, status=Evaluation.Status.PENDING).order_by("-id")[
            0
        ]
        ms, written = timed_ms(lambda: record_result(evaluation, result, device))
        assert written
        return float(ms)

    return write


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Set the environment up, measure, and return the report (before the server and Redis stop)."""
    report: dict[str, Any] = {"load_start": load()}
    baseline_every = max(1, args.n // args.baseline_n)
    baseline_writes = len(range(0, args.n, baseline_every))
    n_init = WARMUP_ROUNDS + 1 + args.n + baseline_writes + args.services_n + args.batch * args.batches + 1
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "hytnas_web.settings"
    with redis_for_run(workdir) as redis_url:
        os.environ["REDIS_URL"] = redis_url
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        study, secret, token = remote_study(n_init)
        report["settings"] = {
            "n": args.n,
            "batch": args.batch,
            "batches": args.batches,
            "extensions": args.extensions,
            "baseline_writes": baseline_writes,
            "services_n": args.services_n,
            "torch_n": args.torch_n,
            "n_init": n_init,
            "lease_seconds": LEASE_SECONDS,
            "database": "sqlite (WAL), temporary file",
            "redis": "shared 127.0.0.1:6379 db 6" if redis_url == SHARED_REDIS else "embedded",
            "server": "gunicorn, 1 worker, 2 threads, 127.0.0.1",
        }
        with web_server(dict(os.environ), workdir / "gunicorn.log") as server:
            print(f"torch baseline: {args.torch_n} evaluations at 224 px (detection)", flush=True)
            measured = torch_baseline(args.torch_n)
            results = measured.pop("results")
            report["torch"] = measured
            device = describe_device("benchmark")
            client = ApiClient(server, secret)
            client.whoami()
            for _ in range(WARMUP_ROUNDS):
                claim = client.claim(1, LEASE_SECONDS, device, None)
                payload = report_payload(results[0], claim["lease"]["id"], device)
                client.report(claim["evaluations"][0]["id"], payload)
            print(f"(b) {args.extensions} lease extensions", flush=True)
            report["extend"] = extensions(client, device, args.extensions)
            print(
                f"(a) {args.n} x claim(1) + report, {baseline_writes} in-process writes among them",
                flush=True,
            )
            writer = in_process_writer(study, device)
            report["one_at_a_time"] = one_at_a_time(client, device, results, args.n, writer, baseline_every)
            print(f"baseline: {args.services_n} x claim + report through the services, no HTTP", flush=True)
            report["services"] = services_path(token, device, results, args.services_n)
            print(f"(c) {args.batches} x claim({args.batch}) + {args.batch} reports", flush=True)
            report["batched"] = batched(client, device, results, args.batch, args.batches)
            from hytnas_web.studies.models import Evaluation

            left = study.evaluations.filter(status=Evaluation.Status.PENDING).count()
            assert left == 2, f"{left} evaluations still pending, expected 2 (held lease + spare)"
    report["load_end"] = load()
    return report


def ratios(report: dict[str, Any]) -> dict[str, float]:
    """The API's cost against the baselines measured in the same run."""
    torch_ms = report["torch"]["stats"]["median"]
    single = report["one_at_a_time"]["per_evaluation_ms"]["median"]
    batch = report["batched"]["per_evaluation_ms"]["mean"]
    write = report["one_at_a_time"]["in_process_write_ms"]["median"]
    return {
        "single_over_in_process_write": single / write,
        "single_over_services": single / report["services"]["per_evaluation_ms"]["median"],
        "single_percent_of_torch_evaluation": 100 * single / torch_ms,
        "single_p90_percent_of_torch_evaluation": 100
        * report["one_at_a_time"]["per_evaluation_ms"]["p90"]
        / torch_ms,
        "batched_percent_of_torch_evaluation": 100 * batch / torch_ms,
        "in_process_write_percent_of_torch_evaluation": 100 * write / torch_ms,
        "extend_percent_of_torch_evaluation": 100 * report["extend"]["extend_ms"]["median"] / torch_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=150, help="evaluations claimed and reported one at a time")
    parser.add_argument("--batch", type=int, default=16, help="evaluations per claim in the batched part")
    parser.add_argument("--batches", type=int, default=2, help="claims in the batched part")
    parser.add_argument("--extensions", type=int, default=50, help="lease extensions timed")
    parser.add_argument("--baseline-n", type=int, default=30, help="in-process record_result writes")
    parser.add_argument("--services-n", type=int, default=30, help="claim + report through the services")
    parser.add_argument("--torch-n", type=int, default=12, help="torch evaluations for the baseline")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "remote_api.json"))
    args = parser.parse_args()
    start = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="hytnas-remote-api-bench-"))
    try:
        report = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report["ratios"] = ratios(report)
    report["elapsed_s"] = time.perf_counter() - start
    report["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")

    single, batch = report["one_at_a_time"], report["batched"]
    r, torch_stats = report["ratios"], report["torch"]["stats"]
    print(f"\n{'path':<44}{'median ms':>10}{'p90 ms':>9}")
    rows = [
        ("(a) claim(1)", single["claim_ms"]),
        ("(a) report", single["report_ms"]),
        ("(a) claim(1) + report, per evaluation", single["per_evaluation_ms"]),
        ("(b) lease extension", report["extend"]["extend_ms"]),
        (f"(c) claim({batch['size']})", batch["claim_ms"]),
        ("(c) report in a batch", batch["report_ms"]),
        ("baseline: record_result in process", single["in_process_write_ms"]),
        ("baseline: services, no HTTP, per evaluation", report["services"]["per_evaluation_ms"]),
        ("baseline: one torch evaluation", torch_stats),
    ]
    for label, stats in rows:
        print(f"{label:<44}{stats['median']:>10.1f}{stats['p90']:>9.1f}")
    print(
        f"(c) per evaluation: {batch['per_evaluation_ms']['mean']:.1f} ms"
        f" ({batch['per_evaluation_ms']['claim_share']:.0%} of it the claim)"
    )
    print(
        f"API per evaluation = {r['single_percent_of_torch_evaluation']:.2f} % of one torch evaluation"
        f" (p90 {r['single_p90_percent_of_torch_evaluation']:.2f} %; batched"
        f" {r['batched_percent_of_torch_evaluation']:.2f} %); x{r['single_over_in_process_write']:.1f}"
        f" the in-process write, x{r['single_over_services']:.1f} the services without HTTP"
    )
    print(f"load start {report['load_start']}, end {report['load_end']}; {report['elapsed_s']:.0f} s total")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
