"""Worker tokens in the UI: made with the secret shown once, listed without it, revoked by the owner only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from hytnas_web.studies import services
from hytnas_web.studies.models import Study, WorkerToken

TOKENS = reverse("studies-tokens")
SECRET = re.compile(r"hyt_[A-Za-z0-9_-]{20,}")


def revoke_url(token: WorkerToken) -> str:
    return reverse("studies-tokens-revoke", args=[token.pk])


def test_a_new_token_shows_its_secret_once_and_stores_only_its_digest(alice_client: Any, alice: User) -> None:
    response = alice_client.post(TOKENS, {"name": "Pi 5, lab bench", "study": ""})
    assert response.status_code == 200
    content = response.content.decode()
    secrets = set(SECRET.findall(content))
    assert len(secrets) == 1, secrets
    secret = secrets.pop()
    token = WorkerToken.objects.get(owner=alice)
    assert token.name == "Pi 5, lab bench" and token.study is None and token.is_active
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix) and token.prefix != secret
    stored = [str(v) for v in WorkerToken.objects.filter(pk=token.pk).values_list().get()]
    assert not any(secret in value for value in stored)
    assert "only time the secret is shown" in content
    assert f"python -m search_engine.worker --server http://testserver/ --token {secret}" in content
    assert "no-store" in response["Cache-Control"]
    assert services.authenticate_token(secret) == token

    listing = alice_client.get(TOKENS).content.decode()
    assert secret not in listing and not SECRET.findall(listing)
    assert "Pi 5, lab bench" in listing and f"{token.prefix}…" in listing


def test_the_list_shows_each_tokens_scope_use_and_status(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice, name="Edge board search")
    services.issue_token(alice, "board", study=study)
    revoked = services.issue_token(alice, "old laptop").token
    services.revoke_token(revoked)
    content = alice_client.get(TOKENS).content.decode()
    detail = reverse("studies-detail", args=[study.pk])
    assert f'<a href="{detail}">Edge board search</a>' in content
    assert "any of your studies" in content
    assert "never" in content  # neither was used yet
    assert f"revoked {revoked.revoked_at:%Y-%m-%d}" in content
    assert content.count('class="danger">Revoke</button>') == 1  # only the active one offers it


def test_a_token_for_one_study_is_made_from_the_scope_select(
    alice_client: Any, alice: User, make_study: Callable[..., Study]
) -> None:
    study = make_study(alice)
    response = alice_client.post(TOKENS, {"name": "board", "study": str(study.pk)})
    assert response.status_code == 200
    assert WorkerToken.objects.get(owner=alice).study == study


def test_the_scope_select_lists_only_ones_own_studies_and_preselects_the_asked_one(
    alice_client: Any, alice: User, bob: User, make_study: Callable[..., Study]
) -> None:
    mine = make_study(alice, name="alice's search")
    theirs = make_study(bob, name="bob's search")
    response = alice_client.get(TOKENS, {"study": mine.pk})
    choices = [str(value) for value, _ in response.context["form"].fields["study"].choices]
    assert choices == ["", str(mine.pk)]
    assert "bob&#x27;s search" not in response.content.decode()
    assert f'<option value="{mine.pk}" selected>' in response.content.decode()
    # Someone else's study (or nonsense) preselects nothing rather than leaking or failing.
    for asked in (theirs.pk, "nonsense"):
        response = alice_client.get(TOKENS, {"study": asked})
        assert response.status_code == 200
        assert response.context["form"]["study"].value() is None


def test_a_token_for_another_users_study_is_refused_with_a_form_error(
    alice_client: Any, alice: User, bob: User, make_study: Callable[..., Study]
) -> None:
    theirs = make_study(bob)
    response = alice_client.post(TOKENS, {"name": "sneaky", "study": str(theirs.pk)})
    assert response.status_code == 200
    assert response.context["form"].errors["study"] == ["Choose one of your own studies, or any of them."]
    assert not SECRET.findall(response.content.decode())
    assert not WorkerToken.objects.exists()


def test_a_token_needs_a_name(alice_client: Any, alice: User) -> None:
    response = alice_client.post(TOKENS, {"name": "  ", "study": ""})
    assert response.context["form"].errors["name"]
    assert not WorkerToken.objects.exists()


def test_revoking_keeps_the_token_but_refuses_its_secret(alice_client: Any, alice: User) -> None:
    issued = services.issue_token(alice, "board")
    response = alice_client.post(revoke_url(issued.token))
    assert response.status_code == 302 and response["Location"] == TOKENS
    issued.token.refresh_from_db()
    assert not issued.token.is_active
    assert services.authenticate_token(issued.secret) is None
    assert "revoked" in alice_client.get(TOKENS).content.decode()


def test_revoking_needs_a_post(alice_client: Any, alice: User) -> None:
    token = services.issue_token(alice, "board").token
    assert alice_client.get(revoke_url(token)).status_code == 405
    token.refresh_from_db()
    assert token.is_active


def test_bob_cannot_see_or_revoke_alices_token(bob_client: Any, alice: User) -> None:
    issued = services.issue_token(alice, "alice's board")
    assert bob_client.post(revoke_url(issued.token)).status_code == 404
    issued.token.refresh_from_db()
    assert issued.token.is_active
    assert "alice&#x27;s board" not in bob_client.get(TOKENS).content.decode()


def test_the_tokens_page_needs_a_signed_in_user(client: Any, alice: User) -> None:
    token = services.issue_token(alice, "board").token
    for response in (client.get(TOKENS), client.post(TOKENS, {"name": "x"}), client.post(revoke_url(token))):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert WorkerToken.objects.count() == 1
    token.refresh_from_db()
    assert token.is_active


def test_the_list_shows_when_a_token_was_last_used_to_the_minute(alice_client: Any, alice: User) -> None:
    issued = services.issue_token(alice, "bench board")
    assert services.authenticate_token(issued.secret) == issued.token
    first_use = WorkerToken.objects.get(pk=issued.token.pk).last_used_at
    assert first_use is not None
    assert f"{timezone.localtime(first_use):%Y-%m-%d %H:%M}" in alice_client.get(TOKENS).content.decode()

    services.authenticate_token(issued.secret)  # again within the minute: the page would show the same
    assert WorkerToken.objects.get(pk=issued.token.pk).last_used_at == first_use
    an_hour_ago = first_use - timedelta(hours=1)
    WorkerToken.objects.filter(pk=issued.token.pk).update(last_used_at=an_hour_ago)
    services.authenticate_token(issued.secret)
    assert WorkerToken.objects.get(pk=issued.token.pk).last_used_at >= first_use
