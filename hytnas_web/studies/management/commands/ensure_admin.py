"""``manage.py ensure_admin``: make sure the admin superuser exists, never with a well-known password.

The username comes from HYTNAS_ADMIN_USER (default "admin") and the password from
HYTNAS_ADMIN_PASSWORD. Both are read here rather than in settings.py so the password does not sit
in the settings of every running process. Without HYTNAS_ADMIN_PASSWORD a new admin gets a random
password, printed once and kept in var/admin_password (mode 0600) for later.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

DEFAULT_USERNAME = "admin"


def password_file() -> Path:
    """Where a generated admin password is kept: var/admin_password."""
    return Path(settings.VAR_DIR) / "admin_password"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, with no moment of wider access."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)  # the file may have existed with other permissions


def is_active_superuser(user: Any) -> bool:
    return bool(user.is_superuser and user.is_staff and user.is_active)


class Command(BaseCommand):
    help = "Make sure the admin superuser exists (password from HYTNAS_ADMIN_PASSWORD, else generated once)."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("HYTNAS_ADMIN_USER") or DEFAULT_USERNAME
        password = os.environ.get("HYTNAS_ADMIN_PASSWORD") or ""
        users = get_user_model()
        user = users.objects.filter(username=username).first()

        if password:
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError(f"HYTNAS_ADMIN_PASSWORD is too weak: {' '.join(error.messages)}") from None
            if user is None:
                users.objects.create_superuser(username, "", password)
                self.stdout.write(f"Created admin user '{username}' (password from HYTNAS_ADMIN_PASSWORD).")
            elif not user.check_password(password) or not is_active_superuser(user):
                # Only when something differs: re-hashing would sign out every session of the admin.
                user.set_password(password)
                user.is_superuser = user.is_staff = user.is_active = True
                user.save()
                self.stdout.write(f"Admin user '{username}': password set from HYTNAS_ADMIN_PASSWORD.")
            else:
                self.stdout.write(f"Admin user '{username}' exists (password from HYTNAS_ADMIN_PASSWORD).")
            return

        if user is not None:
            self.stdout.write(self._existing_user_note(user, username))
            return

        password = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
        users.objects.create_superuser(username, "", password)
        # Printed before saving, so a var/ that cannot be written never loses the only copy.
        self.stdout.write(self.style.SUCCESS(f"Created admin user '{username}' with password: {password}"))
        path = password_file()
        try:
            write_private(path, password)
        except OSError as error:
            self.stderr.write(f"(could not save it in {path}: {error}; note it now, it is not shown again)")
        else:
            self.stdout.write(f"(also saved in {path}, readable only by you; it is not shown again)")

    def _existing_user_note(self, user: Any, username: str) -> str:
        """What to tell about an admin that already exists and is left as it is."""
        note = f"Admin user '{username}' exists; password unchanged (set HYTNAS_ADMIN_PASSWORD to change it)."
        path = password_file()
        if path.exists() and user.check_password(path.read_text().strip()):
            note += f" Its generated password is in {path}."
        if not is_active_superuser(user):
            note += " Warning: it is not an active superuser."
        return note
