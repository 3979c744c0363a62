"""Lifecycle actions, clone and save-as-preset: POST only, CSRF-protected, the owner's studies only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from hytnas_web.studies.models import Iteration, Preset, Study

LIFECYCLE = ["start", "pause", "resume", "cancel", "retry"]
EVERY_ACTION = [*LIFECYCLE, "clone", "save-preset"]


def act(client: Any, study: Study, action: str, **data: Any) -> Any:
    return client.post(reverse(f"studies-{action}", args=[study.pk]), data)


def with_status(study: Study, status: str) -> Study:
    Study.objects.filter(pk=study.pk).update(status=status)
    study.refresh_from_db()
    return study


def test_alice_can_start_her_study(alice_client: Any, alice: Any, make_study: Any, rq_queues: str) -> None:
    study = make_study(alice)
    response = act(alice_client, study, "start")
    assert response.status_code == 302
    assert response["Location"] == reverse("studies-detail", args=[study.pk])
    study.refresh_from_db()
    assert study.status == Study.Status.RUNNING
    assert study.iterations.get().index == 0
    assert "Study started." in alice_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("before", "action", "after"),
    [
        (Study.Status.RUNNING, "pause", Study.Status.PAUSED),
        (Study.Status.PAUSED, "resume", Study.Status.RUNNING),
        (Study.Status.RUNNING, "cancel", Study.Status.CANCELLED),
        (Study.Status.DRAFT, "cancel", Study.Status.CANCELLED),
    ],
)
def test_each_action_moves_the_study_on(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str, before: str, action: str, after: str
) -> None:
    study = with_status(make_study(alice), before)
    assert act(alice_client, study, action).status_code == 302
    study.refresh_from_db()
    assert study.status == after


def test_retry_resets_the_failed_iteration(
    alice_client: Any, alice: Any, make_study: Any, rq_queues: str
) -> None:
    study = with_status(make_study(alice), Study.Status.FAILED)
    Iteration.objects.create(study=study, index=0, seed=1, status=Iteration.Status.FAILED, error="boom")
    assert act(alice_client, study, "retry").status_code == 302
    study.refresh_from_db()
    assert study.status == Study.Status.RUNNING
    assert study.iterations.get().status == Iteration.Status.PENDING


def test_an_action_the_status_does_not_allow_is_a_400_with_a_message(
    alice_client: Any, alice: Any, make_study: Any
) -> None:
    study = with_status(make_study(alice), Study.Status.COMPLETED)
    response = act(alice_client, study, "start")
    assert response.status_code == 400
    assert "cannot start a completed study" in response.content.decode()
    study.refresh_from_db()
    assert study.status == Study.Status.COMPLETED


def test_clone_makes_a_new_draft(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = with_status(make_study(alice, name="Original"), Study.Status.COMPLETED)
    response = act(alice_client, study, "clone")
    copy = Study.objects.exclude(pk=study.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("studies-detail", args=[copy.pk])
    assert (copy.name, copy.status, copy.owner) == ("Original (copy)", Study.Status.DRAFT, alice)
    assert copy.config == study.config


def test_save_as_preset_keeps_components_and_sizes(alice_client: Any, alice: Any, make_study: Any) -> None:
    study = make_study(alice)
    response = act(alice_client, study, "save-preset", label="Small ZDT1", key="small-zdt1", description="")
    assert response.status_code == 302
    preset = Preset.objects.get(owner=alice, key="small-zdt1")
    assert (preset.label, preset.n_init, preset.batch_size) == ("Small ZDT1", 10, 10)
    assert preset.components == study.components
    assert preset.components["solver"]["params"] == {"pop_size": 20, "n_gen": 5}
    assert str(preset.pk) in alice_client.get(reverse("studies-create")).content.decode()


def test_a_bad_preset_key_is_shown_at_its_field(alice_client: Any, alice: Any, make_study: Any) -> None:
    response = act(alice_client, make_study(alice), "save-preset", label="x", key="not a slug!")
    assert response.status_code == 400
    assert "key" in response.context["preset_form"].errors
    assert not Preset.objects.filter(owner=alice).exists()


@pytest.mark.parametrize("action", EVERY_ACTION)
def test_bob_cannot_act_on_alices_study(bob_client: Any, alice: Any, make_study: Any, action: str) -> None:
    study = make_study(alice)
    response = act(bob_client, study, action, label="mine", key="mine")
    assert response.status_code == 404
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT
    assert Study.objects.count() == 1 and not Preset.objects.filter(owner__username="bob").exists()


def test_bob_cannot_see_alices_study(bob_client: Any, alice: Any, make_study: Any) -> None:
    assert bob_client.get(reverse("studies-detail", args=[make_study(alice).pk])).status_code == 404


@pytest.mark.parametrize("action", EVERY_ACTION)
def test_anonymous_users_are_redirected_and_nothing_changes(
    client: Any, alice: Any, make_study: Any, action: str
) -> None:
    study = make_study(alice)
    response = act(client, study, action, label="x", key="x")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT and Study.objects.count() == 1 and not Preset.objects.exists()


@pytest.mark.parametrize("action", EVERY_ACTION)
def test_get_on_an_action_is_not_allowed(alice_client: Any, alice: Any, make_study: Any, action: str) -> None:
    study = make_study(alice)
    assert alice_client.get(reverse(f"studies-{action}", args=[study.pk])).status_code == 405
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT


def test_a_post_without_a_csrf_token_is_refused(alice: User, make_study: Any, rq_queues: str) -> None:
    study = make_study(alice)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.post(reverse("studies-start", args=[study.pk])).status_code == 403
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT
    # The same browser with the token from the page succeeds.
    browser.get(reverse("studies-detail", args=[study.pk]))
    token = browser.cookies["csrftoken"].value
    response = browser.post(reverse("studies-start", args=[study.pk]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.status == Study.Status.RUNNING


def test_the_study_form_needs_a_csrf_token_too(alice: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.post(reverse("studies-create"), {"name": "x"}).status_code == 403
    assert not Study.objects.exists()
