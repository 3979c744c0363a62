"""The study page's panel for remote evaluation: what waits for a worker, what is being measured, by whom.

A remote study's pending evaluation is *waiting* until a worker's lease holds it, and *being
measured* while that lease is live (``lease_expires_at`` in the future). A lease that ran out puts
the evaluation back among the waiting ones, exactly as the claim endpoint sees it, so the panel
never counts a vanished worker as busy.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Lease, Study
from hytnas_web.studies.services.devices import device_label
from hytnas_web.studies.services.tokens import visible_tokens


@dataclass(frozen=True)
class DeviceCount:
    """One device that measured some of the study's evaluations."""

    label: str
    n_done: int
    n_failed: int

    @property
    def n_evaluations(self) -> int:
        """Evaluations it reported, successful or not."""
        return self.n_done + self.n_failed


@dataclass(frozen=True)
class ActiveWorker:
    """A worker holding a live lease on some of the study's evaluations."""

    token_name: str
    device: str
    n_evaluations: int
    expires_at: datetime.datetime


@dataclass(frozen=True)
class WorkersPanel:
    """Counts and devices the study page shows for a remote study."""

    n_waiting: int
    n_measuring: int
    n_active_tokens: int
    workers: list[ActiveWorker]
    devices: list[DeviceCount]


def workers_panel(study: Study, now: datetime.datetime | None = None) -> WorkersPanel:
    """Waiting and leased evaluations of ``study``, the workers holding leases and the devices so far.

    Args:
        now: the moment leases are judged live at (default: now).
    """
    now = now or timezone.now()
    live = Q(lease_expires_at__gt=now)
    pending = study.evaluations.filter(status=Evaluation.Status.PENDING)
    counts = pending.aggregate(measuring=Count("id", filter=live), waiting=Count("id", filter=~live))
    return WorkersPanel(
        n_waiting=counts["waiting"],
        n_measuring=counts["measuring"],
        n_active_tokens=visible_tokens(study.owner, study).filter(revoked_at__isnull=True).count(),
        workers=_active_workers(study, now),
        devices=_devices(study),
    )


def _active_workers(study: Study, now: datetime.datetime) -> list[ActiveWorker]:
    """Leases that hold pending evaluations of ``study`` right now, soonest to expire first."""
    held = Q(
        evaluations__study=study,
        evaluations__status=Evaluation.Status.PENDING,
        evaluations__lease_expires_at__gt=now,
    )
    leases = (
        Lease.objects.filter(held)
        .annotate(n_held=Count("evaluations", filter=held))
        .select_related("token")
        .order_by("expires_at")
    )
    return [
        ActiveWorker(lease.token.name, device_label(lease.device), lease.n_held, lease.expires_at)
        for lease in leases.distinct()
    ]


def _devices(study: Study) -> list[DeviceCount]:
    """Devices that reported this study's evaluations, most evaluations first.

    Grouped by the database on the stored description, then merged by label: two descriptions of
    one board that differ only in, say, the torch version are one line here.
    """
    groups = (
        study.evaluations.filter(status__in=[Evaluation.Status.DONE, Evaluation.Status.FAILED])
        .exclude(device={})
        .values("device")
        .annotate(
            n_done=Count("id", filter=Q(status=Evaluation.Status.DONE)),
            n_failed=Count("id", filter=Q(status=Evaluation.Status.FAILED)),
        )
        .order_by()
    )
    merged: dict[str, tuple[int, int]] = {}
    for group in groups:
        label = device_label(group["device"])
        if not label:
            continue
        done, failed = merged.get(label, (0, 0))
        merged[label] = (done + group["n_done"], failed + group["n_failed"])
    devices = [DeviceCount(label, done, failed) for label, (done, failed) in merged.items()]
    return sorted(devices, key=lambda d: (-d.n_evaluations, d.label))
