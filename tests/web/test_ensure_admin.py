"""``manage.py ensure_admin``: an admin always exists, never with a fixed, well-known password."""

from __future__ import annotations

import io
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest

CREATED = re.compile(r"Created admin user '(?P<user>[^']+)' with password: (?P<password>\S+)")


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private var/ folder and no admin variables, so the checkout's var/admin_password is untouched."""
    var = tmp_path / "var"
    settings.VAR_DIR = var
    monkeypatch.delenv("HYTNAS_ADMIN_USER", raising=False)
    monkeypatch.delenv("HYTNAS_ADMIN_PASSWORD", raising=False)
    return var


def ensure_admin() -> str:
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_generated_password_is_printed_once_and_kept_in_a_private_file(var_dir: Path, client: Any) -> None:
    output = ensure_admin()

    match = CREATED.search(output)
    assert match is not None and match["user"] == "admin"
    password = match["password"]
    assert len(password) >= 20
    saved = var_dir / "admin_password"
    assert saved.read_text().strip() == password
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert str(saved) in output
    assert client.login(request=HttpRequest(), username="admin", password=password)  # axes needs one
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff

    again = ensure_admin()
    assert password not in again
    assert "exists" in again and str(saved) in again
    assert User.objects.filter(username="admin").count() == 1


@pytest.mark.django_db
def test_no_fixed_default_each_new_admin_gets_its_own_password(var_dir: Path) -> None:
    first = CREATED.search(ensure_admin())
    User.objects.filter(username="admin").delete()
    second = CREATED.search(ensure_admin())
    assert first is not None and second is not None
    assert first["password"] != second["password"]
    assert not User.objects.get(username="admin").check_password("admin")


@pytest.mark.django_db
def test_the_password_from_the_environment_is_used_and_never_printed(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch, client: Any
) -> None:
    monkeypatch.setenv("HYTNAS_ADMIN_USER", "root")
    monkeypatch.setenv("HYTNAS_ADMIN_PASSWORD", "a long enough password 42")

    output = ensure_admin()

    assert "a long enough password 42" not in output
    assert "Created admin user 'root'" in output
    assert not (var_dir / "admin_password").exists()
    assert client.login(request=HttpRequest(), username="root", password="a long enough password 42")
    assert User.objects.get(username="root").is_superuser


@pytest.mark.django_db
def test_the_environment_password_replaces_an_existing_admins(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    User.objects.create_superuser("admin", "", "the old password 1234")
    monkeypatch.setenv("HYTNAS_ADMIN_PASSWORD", "the new password 5678")

    ensure_admin()
    admin = User.objects.get(username="admin")
    assert admin.check_password("the new password 5678")

    hashed = admin.password
    ensure_admin()  # same password again: nothing rewritten, so no session is signed out
    admin.refresh_from_db()
    assert admin.password == hashed


@pytest.mark.django_db
def test_an_existing_admin_is_left_alone_without_a_password_variable(var_dir: Path) -> None:
    User.objects.create_superuser("admin", "", "chosen by the owner 99")
    hashed = User.objects.get(username="admin").password

    output = ensure_admin()

    assert "exists" in output and "unchanged" in output
    assert User.objects.get(username="admin").password == hashed
    assert not (var_dir / "admin_password").exists()


@pytest.mark.django_db
def test_a_weak_environment_password_is_refused(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYTNAS_ADMIN_PASSWORD", "admin")
    with pytest.raises(CommandError, match="HYTNAS_ADMIN_PASSWORD"):
        ensure_admin()
    assert not User.objects.filter(username="admin").exists()
