"""The remote study's workers panel: waiting vs being measured, who holds leases, which devices measured."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Lease, Study
from tests.web.hardware_rows import LAPTOP, LAPTOP_LABEL, PI, PI_LABEL, add_row, remote_study

PENDING = Evaluation.Status.PENDING
FAILED = Evaluation.Status.FAILED


def leased(study: Study, lease: Lease, expires_at: datetime.datetime) -> Evaluation:
    """A pending evaluation held by ``lease`` until ``expires_at``."""
    return add_row(study, status=PENDING, lease=lease, lease_expires_at=expires_at, attempts=1)


def test_pending_evaluations_wait_unless_a_live_lease_holds_them(
    alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    now = timezone.now()
    token = services.issue_token(alice, "Pi bench", study=study).token
    live = Lease.objects.create(token=token, device=PI, expires_at=now + datetime.timedelta(minutes=10))
    lapsed = Lease.objects.create(token=token, device=PI, expires_at=now - datetime.timedelta(minutes=1))
    add_row(study, status=PENDING)  # never claimed
    leased(study, lapsed, now - datetime.timedelta(minutes=1))  # its worker vanished: back in the pool
    leased(study, live, now + datetime.timedelta(minutes=10))
    leased(study, live, now + datetime.timedelta(minutes=10))
    add_row(study, device=PI)  # measured: neither waiting nor being measured

    panel = services.workers_panel(study, now=now)
    assert (panel.n_waiting, panel.n_measuring) == (2, 2)
    assert len(panel.workers) == 1
    worker = panel.workers[0]
    assert (worker.token_name, worker.device, worker.n_evaluations) == ("Pi bench", PI_LABEL, 2)
    # Ten minutes later the live lease has run out too: everything pending waits again.
    later = services.workers_panel(study, now=now + datetime.timedelta(minutes=11))
    assert (later.n_waiting, later.n_measuring, later.workers) == (4, 0, [])


def test_the_devices_that_measured_the_study_are_counted(
    alice: User, bob: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    for _ in range(3):
        add_row(study, device=PI)
    add_row(study, device={**PI, "torch": "2.14.0"})  # the same board after an upgrade: one line
    add_row(study, status=FAILED, device=PI, error="ran out of memory")
    add_row(study, device=LAPTOP)
    add_row(study, status=FAILED, error="no device recorded")
    other = remote_study(make_study, bob)
    add_row(other, device=LAPTOP)  # another study's measurements do not count

    devices = services.workers_panel(study).devices
    assert [(d.label, d.n_done, d.n_failed) for d in devices] == [(PI_LABEL, 4, 1), (LAPTOP_LABEL, 1, 0)]


def test_tokens_that_may_serve_the_study_are_counted(
    alice: User, bob: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    elsewhere = remote_study(make_study, alice, name="another search")
    assert services.workers_panel(study).n_active_tokens == 0
    services.issue_token(alice, "for this study", study=study)
    services.issue_token(alice, "for any of alice's studies")
    services.issue_token(alice, "for another study", study=elsewhere)
    services.revoke_token(services.issue_token(alice, "revoked", study=study).token)
    services.issue_token(bob, "bob's")
    assert services.workers_panel(study).n_active_tokens == 2


def test_a_remote_studys_page_shows_the_panel_and_links_to_its_tokens(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    add_row(study, status=PENDING)
    add_row(study, status=PENDING)
    add_row(study, device=PI)
    response = alice_client.get(reverse("studies-detail", args=[study.pk]))
    content = response.content.decode()
    tokens = f"{reverse('studies-tokens')}?study={study.pk}"
    assert response.context["workers"].n_waiting == 2
    assert '<strong data-count="waiting">2</strong> evaluations waiting for a worker' in content
    assert '<strong data-count="measuring">0</strong> being measured' in content
    assert "No active token may take this study's work yet" in content
    assert f'<a href="{tokens}">Worker tokens</a>' in content
    assert f'<a class="button" href="{tokens}">Make a worker token</a>' in content
    assert f"<td>{PI_LABEL}</td>" in content
    # The token page that link opens has this study chosen.
    assert alice_client.get(tokens).context["form"]["study"].value() == study.pk


def test_the_live_dashboard_refreshes_the_panel(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = remote_study(make_study, alice)
    add_row(study, status=PENDING)
    data = alice_client.get(reverse("studies-dashboard-data", args=[study.pk])).json()
    assert '<strong data-count="waiting">1</strong>' in data["html"]["workers"]


def test_studies_measured_elsewhere_show_no_panel(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    for study in (make_study(alice), remote_study(make_study, alice, evaluator="torch", name="queued")):
        response = alice_client.get(reverse("studies-detail", args=[study.pk]))
        assert response.context["workers"] is None
        assert "Evaluation workers" not in response.content.decode()
        assert f"?study={study.pk}" in response.content.decode()  # the tokens link is always there
        data = alice_client.get(reverse("studies-dashboard-data", args=[study.pk])).json()
        assert "workers" not in data["html"]
