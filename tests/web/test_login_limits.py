"""Password guessing: sign-in refused per user name and per address past the limit, until the cool-off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.web.conftest import PASSWORD

LIMIT = 5  # HYTNAS_LOGIN_FAILURE_LIMIT's default, as README documents it


def sign_in(username: str, password: str, address: str = "192.0.2.10", url: str = "") -> Any:
    """One sign-in through the login form from ``address``, in a fresh browser (no cookies)."""
    return Client(REMOTE_ADDR=address).post(
        url or reverse("login"), {"username": username, "password": password}
    )


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_the_documented_limits_are_the_settings(settings: Any) -> None:
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


@pytest.mark.django_db
def test_after_the_limit_the_right_password_is_refused_with_a_page_that_says_why(alice: User) -> None:
    for attempt in range(1, LIMIT):
        wrong = sign_in("alice", f"guess {attempt}")
        assert wrong.status_code == 200 and b"do not match" in wrong.content
    locked = sign_in("alice", f"guess {LIMIT}")
    assert locked.status_code == 429
    right = sign_in("alice", PASSWORD)
    assert right.status_code == 429 and not signed_in(right)
    page = right.content.decode()
    assert "Sign-in paused" in page and "try\n    again in 15 minutes" in page
    assert "“alice”" in page and f"({LIMIT} or more)" in page
    assert right["Retry-After"] == str(15 * 60)


@pytest.mark.django_db
def test_guessing_one_account_from_many_addresses_locks_that_account_only(alice: User, bob: User) -> None:
    for attempt in range(LIMIT):
        sign_in("alice", "wrong", address=f"198.51.100.{attempt + 1}")
    assert sign_in("alice", PASSWORD, address="203.0.113.7").status_code == 429
    assert signed_in(sign_in("bob", PASSWORD, address="203.0.113.7"))


@pytest.mark.django_db
def test_guessing_many_accounts_from_one_address_locks_that_address_only(alice: User, bob: User) -> None:
    for attempt in range(LIMIT):
        sign_in(f"nobody{attempt}", "wrong", address="192.0.2.66")
    assert sign_in("bob", PASSWORD, address="192.0.2.66").status_code == 429
    assert signed_in(sign_in("bob", PASSWORD, address="192.0.2.67"))


@pytest.mark.django_db
def test_the_lock_lifts_once_the_cool_off_has_passed(alice: User) -> None:
    for _ in range(LIMIT):
        sign_in("alice", "wrong")
    assert sign_in("alice", PASSWORD).status_code == 429
    # the last failure (that refused attempt with the right password counts as one) sixteen minutes ago
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert signed_in(sign_in("alice", PASSWORD))


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_failures(alice: User) -> None:
    for _ in range(LIMIT - 1):
        sign_in("alice", "wrong")
    assert signed_in(sign_in("alice", PASSWORD))
    for _ in range(LIMIT - 1):
        sign_in("alice", "wrong")
    assert signed_in(sign_in("alice", PASSWORD))


@pytest.mark.django_db
def test_the_admin_sign_in_shares_the_count(alice: User) -> None:
    User.objects.create_superuser("root", "", PASSWORD)
    admin_login = reverse("admin:login")
    for _ in range(LIMIT):
        sign_in("root", "wrong", url=admin_login)
    assert sign_in("root", PASSWORD, url=admin_login).status_code == 429
    assert sign_in("root", PASSWORD).status_code == 429  # and the site's own form as well


@pytest.mark.django_db
def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended(settings: Any, alice: User) -> None:
    settings.BEHIND_PROXY = True
    proxy = "10.0.0.2"
    for attempt in range(LIMIT):
        # each client claims another address first; the proxy's own entry comes last
        Client(REMOTE_ADDR=proxy).post(
            reverse("login"),
            {"username": f"nobody{attempt}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}, 192.0.2.99",
        )
    guesser = Client(REMOTE_ADDR=proxy).post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.99"
    )
    assert guesser.status_code == 429
    someone_else = Client(REMOTE_ADDR=proxy).post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.100"
    )
    assert signed_in(someone_else)
