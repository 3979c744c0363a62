"""Inline evaluation in the iteration job: fitted once per worker, measured and written a batch at a time.

A table study's predictors are fitted once per worker process, not once per iteration; an
iteration's pending architectures are evaluated in one call and written in one transaction, so its
database round trips do not grow with the batch; one architecture that fails in a batch fails alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study
from hytnas_web.studies.services.evaluator_cache import (
    EVALUATORS_KEPT,
    forget_evaluators,
    keep_study_evaluator,
    study_evaluator,
)
from search_engine.config import StudyConfig
from search_engine.evaluators.table import TableEvaluator
from tests.engine.evaluators.tables import OBJECTIVES, SPACE, header_csv
from tests.web.conftest import ROOT, database_env
from tests.web.stored_config import store_config
from tests.web.test_jobs import drive_in_process, wait_for


@pytest.fixture(autouse=True)
def no_kept_evaluators() -> Iterator[None]:
    """Each test starts with a worker process that has fitted nothing yet."""
    forget_evaluators()
    yield
    forget_evaluators()


def table_changes(seed: int = 0) -> dict[str, Any]:
    """Configuration changes that turn the small ZDT1 study into a table study on its own tables."""
    evaluator = {
        "name": "table",
        "params": {
            "tables": [{"name": f"measured-{seed}.csv", "text": header_csv(80, seed)}],
            "objectives": OBJECTIVES,
            "space": SPACE,
        },
    }
    return {"space": SPACE, "evaluator": evaluator, "objectives": OBJECTIVES, "ref_point": None}


@pytest.mark.django_db(transaction=True)
def test_a_table_study_fits_its_tables_once_across_its_iterations(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = make_study(alice, **table_changes())
    services.start_study(study)
    fitted_before = TableEvaluator.fits
    drive_in_process(study)
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED
    assert study.iterations.filter(status=Iteration.Status.DONE).count() == 3
    assert study.evaluations.filter(status=Evaluation.Status.DONE).count() == 30
    assert TableEvaluator.fits - fitted_before == 1  # one fit serves all three iterations


@pytest.mark.django_db
def test_studies_with_different_tables_never_share_a_fitted_evaluator(alice: Any, make_study: Any) -> None:
    first = services.study_config(make_study(alice, **table_changes(seed=1)))
    same_tables = services.study_config(make_study(alice, "same tables", **table_changes(seed=1)))
    other_tables = services.study_config(make_study(alice, "other tables", **table_changes(seed=2)))
    kept = study_evaluator(first)
    assert study_evaluator(same_tables) is kept
    other = study_evaluator(other_tables)
    assert other is not kept
    architectures = [{"width": 3, "rate": 0.5, "kind": "attn"}, {"width": 7, "rate": 1.5, "kind": "mlp"}]
    fresh = [r.objectives for r in first.build_evaluator().evaluate(architectures)]
    assert [r.objectives for r in kept.evaluate(architectures)] == fresh
    assert [r.objectives for r in other.evaluate(architectures)] != fresh


def test_a_worker_keeps_only_a_few_fitted_evaluators() -> None:
    configs = [StudyConfig.from_dict(_zdt1(n_var)) for n_var in range(2, 3 + EVALUATORS_KEPT)]
    first = study_evaluator(configs[0])
    for config in configs[1:]:
        study_evaluator(config)
    assert study_evaluator(configs[0]) is not first  # the least recently used one was let go
    assert study_evaluator(configs[-1]) is study_evaluator(configs[-1])


def _zdt1(n_var: int) -> dict[str, Any]:
    from tests.web.conftest import zdt1_config_dict

    variables = [{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(n_var)]
    return zdt1_config_dict(
        space={"name": "generic", "params": {"variables": variables}},
        evaluator={"name": "benchmark", "params": {"problem": "zdt1", "n_var": n_var, "n_obj": 2}},
    )


@pytest.mark.django_db(transaction=True)
def test_one_architecture_failing_in_a_batch_keeps_the_others_measurements(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    """A stored proposal (a crashed job's) holding one architecture the evaluator cannot read."""
    study = make_study(alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="j0")
    iteration = study.iterations.get(index=1)
    for position in range(5):
        value: Any = "unreadable" if position == 2 else 0.1 + 0.2 * position
        Evaluation.objects.create(
            study=study,
            iteration=iteration,
            position=position,
            key=f"stored-{position}",
            x=[0.5, 0.5, 0.5, 0.5],
            architecture={"x0": value, "x1": 0.5, "x2": 0.5, "x3": 0.5},
            source=Evaluation.Source.OPTIMIZER,
        )
    services.run_iteration(study.pk, 1, job_id="j1")
    rows = list(iteration.evaluations.order_by("position"))
    assert [row.status for row in rows] == ["done", "done", "failed", "done", "done"]
    assert all(
        row.objectives is not None and len(row.objectives) == 2 for i, row in enumerate(rows) if i != 2
    )
    assert rows[2].objectives is None
    assert "measured on its own after the batch of 5 raised" in rows[2].error
    assert Iteration.objects.get(pk=iteration.pk).status == Iteration.Status.DONE


def queries_of_iteration_1(make_study: Any, owner: Any, batch_size: int) -> int:
    """Database queries of a study's first optimizer iteration (propose, evaluate, write, finish)."""
    study = make_study(owner, f"batches of {batch_size}", batch_size=batch_size, budget=10 + 2 * batch_size)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="j0")
    with CaptureQueriesContext(connection) as captured:
        services.run_iteration(study.pk, 1, job_id="j1")
    assert study.evaluations.filter(iteration__index=1, status=Evaluation.Status.DONE).count() == batch_size
    return len(captured.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_an_iterations_database_round_trips_do_not_grow_with_its_batch(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    small, large = queries_of_iteration_1(make_study, alice, 3), queries_of_iteration_1(make_study, alice, 24)
    assert small == large
    assert large <= 60


@pytest.mark.django_db(transaction=True)
def test_a_forking_worker_fits_a_table_study_once_for_all_its_iterations(
    alice: Any, make_study: Any, rq_queues: str, tmp_path: Path
) -> None:
    """The product's worker runs each job in a new work horse: the fit must outlive the horses."""
    study = make_study(alice, **table_changes(seed=3))
    services.start_study(study)
    log = tmp_path / "worker.log"
    env = {**os.environ, **database_env(), "REDIS_URL": rq_queues, "LOG_LEVEL": "INFO"}
    command = [sys.executable, "manage.py", "rqworker", "iterations", "--worker-class", FORKING_WORKER]
    with log.open("wb") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: Study.objects.get(pk=study.pk).status == Study.Status.COMPLETED,
            120,
            "the study to complete",
        )
    finally:
        worker.kill()
        worker.wait()
    assert study.iterations.filter(status=Iteration.Status.DONE).count() == 3
    assert log.read_text().count("built the table evaluator") == 1, log.read_text()


FORKING_WORKER = "hytnas_web.studies.worker.ReconcilingWorker"


@pytest.mark.django_db(transaction=True)
def test_a_worker_leaves_an_evaluator_it_cannot_build_for_the_job_to_report(
    alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = store_config(make_study(alice), evaluator={"name": "table", "params": {"tables": []}})
    services.start_study(study)
    keep_study_evaluator(study.pk)  # what a forking worker does before its horse: no exception
    keep_study_evaluator(study.pk + 1000)  # a study deleted meanwhile
    services.run_iteration(study.pk, 0, job_id="j")
    study.refresh_from_db()
    assert study.status == Study.Status.FAILED and "tables" in study.error
