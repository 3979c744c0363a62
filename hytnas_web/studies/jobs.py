"""RQ entry points. Each is a few lines: the work itself lives in the services package."""

from __future__ import annotations

from rq import get_current_job

from hytnas_web.studies import services
from hytnas_web.studies.services import noisy


def run_iteration(study_id: int, index: int) -> str:
    """One iteration of one study (idempotent: see ``services.run_iteration``)."""
    job = get_current_job()
    return services.run_iteration(study_id, index, job_id=job.id if job is not None else "")


def run_evaluation(evaluation_id: int) -> str:
    """One architecture measured on this worker's machine (see ``services.run_evaluation``)."""
    job = get_current_job()
    return services.run_evaluation(evaluation_id, job_id=job.id if job is not None else "")


def reconcile() -> list[str]:
    """Bring the queue in line with the database (see ``services.reconcile``)."""
    return services.reconcile()


def run_remeasurement(kept_id: int) -> str:
    """A noisy measurement measured again on this worker's machine (see ``services.noisy``)."""
    job = get_current_job()
    return noisy.run_remeasurement(kept_id, job_id=job.id if job is not None else "")
