"""Workers on other machines: RQ and evaluation workers in their own network namespaces, links cut.

The server namespace runs Redis, PostgreSQL, gunicorn and the reconciler; host A runs an RQ worker
(both studies' iterations, with DATABASE_URL and REDIS_URL pointing across its link); host B runs
the evaluation worker that measures the remote study with torch over HTTP. A test unplugs one host's
link mid-study, waits, plugs it back in, and checks both studies end exactly as without the cut:
every budgeted architecture evaluated once, iterations 0..n all done, nothing left running. Skipped,
with the reason, where network namespaces cannot be made (not root, no ``ip``, refused). Without the
PostgreSQL server binaries (or with HYTNAS_TEST_HOSTS_DATABASE=sqlite) the database is an SQLite file
that only the server namespace can open: the RQ worker then runs there, and the tests that need it on
host A skip; with ``CI=true`` missing PostgreSQL binaries fail instead, as in the rest of the suite.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.web import hosts
from tests.web.hosts import Host, ServerStack, log_tail, wait_until

# Heartbeats go stale after 10 s, so a 20 s cut outlasts them and the reconciler re-enqueues the cut
# host's iteration while it is away: the case where duplicates could appear.
STACK_SETTINGS = {"HYTNAS_HEARTBEAT_STALE_SECONDS": "10", "HYTNAS_RECONCILE_EVERY_SECONDS": "2"}
CUT_SECONDS = 20
LONG_CUT_SECONDS = 70
SETTLE_SECONDS = 3
COMPLETION_TIMEOUT = 300  # generous: two cores shared with other test runs, torch imported on host B
RQ_WORKER_CLASS = "hytnas_web.studies.worker.ReconcilingWorker"
OWNERS = itertools.count(1)  # each test's studies belong to a new user
REMOTE_LEASE_SECONDS = 30  # the API's shortest lease: it runs out during a cut unless refreshed after


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[ServerStack, dict[str, Host]]]:
    reason = hosts.namespaces_unavailable()
    if reason is not None:
        pytest.skip(f"no other hosts can be simulated here: {reason}")
    postgres_bin = hosts.postgres_binaries()
    if os.environ.get(hosts.DATABASE_CHOICE) == "sqlite":
        postgres_bin = None
    elif postgres_bin is None and os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are required with CI=true")
    with hosts.server_stack(STACK_SETTINGS, ["a", "b"], postgres_bin) as running:
        yield running


@dataclass
class Run:
    """One test's studies and worker processes on the stack."""

    stack: ServerStack
    workers: dict[str, Host]
    studies: dict[str, tuple[int, int]]  # kind -> (study id, budget)
    rq_worker: subprocess.Popen[bytes]
    remote_worker: subprocess.Popen[bytes]
    logs: list[Path]

    def done_evaluations(self, kind: str) -> int:
        study_id, _ = self.studies[kind]
        sql = "SELECT count(*) FROM studies_evaluation WHERE study_id = %s AND status = 'done'"
        return int(self.stack.query(sql, study_id)[0][0])

    def status(self, kind: str) -> str:
        study_id, _ = self.studies[kind]
        return str(self.stack.query("SELECT status FROM studies_study WHERE id = %s", study_id)[0][0])

    def diagnostics(self) -> str:
        """What each process said, for a failure message."""
        names = ["reconciler", "gunicorn", "postgres", "redis"]
        return "\n".join([*map(log_tail, self.logs), *(log_tail(self.stack.log(n)) for n in names)])


@pytest.fixture
def run(
    stack: tuple[ServerStack, dict[str, Host]], request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Run]:
    """Both studies started, the RQ worker (on host A: PostgreSQL) and host B's evaluation worker running."""
    server, workers = stack
    params = getattr(request.node, "callspec", None)
    if server.database == "sqlite" and params is not None and params.params.get("cut_host") == "a":
        pytest.skip("an RQ worker on host A needs a database server over the network: SQLite run")
    owner = f"owner{next(OWNERS)}"
    code = f"from tests.web.host_studies import create_and_start; create_and_start({owner!r})"
    created = server.shell_json(code, f"create-{owner}")
    network = server.network
    rq_log, remote_log = server.log(f"rqworker-{owner}"), server.log(f"remote-worker-{owner}")
    host_a, host_b = workers["a"], workers["b"]
    # SQLite is a file on the server: an RQ worker can only run there.
    rq_namespace = network.server_namespace if server.database == "sqlite" else host_a.namespace
    rq_worker = network.run(
        rq_namespace,
        [
            sys.executable,
            "manage.py",
            "rqworker",
            "iterations",
            "evaluations",
            "default",
            "--worker-class",
            RQ_WORKER_CLASS,
        ],
        rq_log,
        server.django_env(host_a),
    )
    remote_env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO", "HYTNAS"))}
    remote_env["HYTNAS_WORKER_TOKEN"] = created["token"]
    remote_worker = network.run(
        host_b.namespace,
        [
            sys.executable,
            "-m",
            "search_engine.worker",
            "--server",
            server.url_for(host_b)["WEB"],
            "--name",
            "host-b",
            "--spool",
            str(tmp_path / "spool"),
            "--poll",
            "0.5",
            "--lease",
            str(REMOTE_LEASE_SECONDS),
        ],
        remote_log,
        remote_env,
    )
    studies = {kind: (int(pair[0]), int(pair[1])) for kind, pair in created["studies"].items()}
    yield Run(server, workers, studies, rq_worker, remote_worker, [rq_log, remote_log])
    for process in (remote_worker, rq_worker):
        hosts.stop_process(process)
    assert not list((tmp_path / "spool").rglob("*.json")), "a report of host B was never delivered"


def wait_for_completion(run: Run, after: str) -> None:
    def both_completed() -> bool:
        statuses = [run.status(kind) for kind in run.studies]
        assert "failed" not in statuses, f"a study failed {after}:\n{run.diagnostics()}"
        return statuses == ["completed", "completed"]

    try:
        wait_until(both_completed, COMPLETION_TIMEOUT, f"both studies to complete {after}", every=1.0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{run.diagnostics()}") from None


def assert_exactly_its_budget(run: Run, kind: str) -> None:
    """Completed, ``budget`` distinct architectures each evaluated once, iterations 0..n without gaps."""
    study_id, budget = run.studies[kind]
    stack = run.stack
    evaluations = stack.query(
        "SELECT e.key, e.status, e.objectives IS NOT NULL, i.\"index\", e.position, e.device->>'name'"
        " FROM studies_evaluation e LEFT JOIN studies_iteration i ON e.iteration_id = i.id"
        " WHERE e.study_id = %s ORDER BY e.id",
        study_id,
    )
    iterations = stack.query(
        'SELECT "index", status, n_evaluations FROM studies_iteration WHERE study_id = %s ORDER BY "index"',
        study_id,
    )
    context = f"{kind} study {study_id}: {evaluations}\n{iterations}"
    assert run.status(kind) == "completed", context
    assert len(evaluations) == budget, context
    assert len({row[0] for row in evaluations}) == budget, context
    assert all(row[1] == "done" and row[2] for row in evaluations), context
    assert [row[0] for row in iterations] == list(range(len(iterations))), context
    assert all(row[1] == "done" for row in iterations), context
    seen = 0
    for index, _, n_evaluations in iterations:
        positions = sorted(row[4] for row in evaluations if row[3] == index)
        assert positions == list(range(len(positions))), context
        seen += len(positions)
        assert n_evaluations == seen, context  # each iteration counted what existed after it
    if kind == "remote":
        assert {row[5] for row in evaluations} == {"host-b"}, context


def assert_nothing_left_running(run: Run) -> None:
    """The queues drain: no job waits or runs once both studies are complete."""
    import redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    connection = redis.Redis.from_url(run.stack.url_for(run.stack.network.tester)["REDIS_URL"])

    def drained() -> bool:
        queues = [Queue(name, connection=connection) for name in ("iterations", "evaluations", "default")]
        return all(q.count == 0 and StartedJobRegistry(queue=q).count == 0 for q in queues)

    wait_until(drained, 60, "the RQ queues to drain after completion")
    running = run.stack.query(
        "SELECT count(*) FROM studies_iteration WHERE status IN ('running', 'evaluating', 'pending')"
    )
    assert running == [(0,)]


def assert_stack_serving(run: Run) -> None:
    with urllib.request.urlopen(
        run.stack.url_for(run.stack.network.tester)["WEB"] + "/accounts/login/", timeout=30
    ) as r:
        assert r.status == 200


def test_workers_on_other_hosts_finish_their_studies_over_the_network(run: Run) -> None:
    wait_for_completion(run, "with host A and host B connected")
    for kind in run.studies:
        assert_exactly_its_budget(run, kind)
    assert_nothing_left_running(run)
    assert run.rq_worker.poll() is None and run.remote_worker.poll() is None, run.diagnostics()
    assert_stack_serving(run)


@pytest.mark.parametrize(
    "cut_host, kind, mid_study, seconds",
    [
        # The RQ worker, mid-way through the ZDT1 study's evaluations.
        pytest.param("a", "benchmark", 2, CUT_SECONDS, id="a"),
        # The evaluation worker, after its first measurement.
        pytest.param("b", "remote", 1, CUT_SECONDS, id="b"),
        # The RQ worker away for over a minute: time-outs fire, its connections break and are made anew.
        pytest.param("a", "benchmark", 2, LONG_CUT_SECONDS, id="a-long", marks=pytest.mark.slow),
    ],
)
def test_a_host_cut_off_mid_study_and_back_loses_and_duplicates_nothing(
    run: Run, cut_host: str, kind: str, mid_study: int, seconds: float
) -> None:
    _, budget = run.studies[kind]
    try:
        wait_until(
            lambda: run.done_evaluations(kind) >= mid_study, COMPLETION_TIMEOUT, f"{mid_study} evaluations"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{run.diagnostics()}") from None
    assert run.done_evaluations(kind) < budget, "the study finished before the cut could land"
    host = run.workers[cut_host]
    run.stack.network.cut(host)
    time.sleep(SETTLE_SECONDS)  # a write already on the wire may still land
    during_cut = run.done_evaluations(kind)
    time.sleep(seconds - SETTLE_SECONDS)  # the host is away longer than a heartbeat stays fresh
    # Only the cut host works on this study: had it gone on, the cut would not have cut anything.
    assert run.done_evaluations(kind) == during_cut, f"host {cut_host} went on working while cut off"
    run.stack.network.restore(host)
    wait_for_completion(run, f"after host {cut_host.upper()}'s link came back")
    for each in run.studies:
        assert_exactly_its_budget(run, each)
    assert_nothing_left_running(run)
    alive = {
        "RQ worker": run.rq_worker.poll(),
        "evaluation worker on host B": run.remote_worker.poll(),
    }
    assert all(code is None for code in alive.values()), f"{alive}\n{run.diagnostics()}"
    assert_stack_serving(run)
