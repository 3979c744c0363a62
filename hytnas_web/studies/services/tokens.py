"""Worker tokens: made in the UI, shown once, stored as a digest, revoked without being deleted."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hytnas_web.studies.models import Evaluation, Study, WorkerToken

#: Tokens start with this, so a leaked one is recognisable in logs and secret scanners.
TOKEN_PREFIX = "hyt_"


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret, which is shown to the user once and never stored."""

    token: WorkerToken
    secret: str


def token_digest(secret: str) -> str:
    """The SHA-256 hex digest a secret is stored and looked up as."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(owner: User, name: str, study: Study | None = None) -> IssuedToken:
    """A new token for ``owner``: for one study, or (``study`` None) for any of the owner's studies."""
    if study is not None and study.owner_id != owner.pk:
        raise PermissionError("a token can only be made for one's own study")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = WorkerToken.objects.create(
        owner=owner,
        study=study,
        name=name.strip() or "evaluation worker",
        digest=token_digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
    )
    return IssuedToken(token, secret)


def revoke_token(token: WorkerToken) -> None:
    """Refuse the token from now on; its leases lapse and their evaluations return to the pool."""
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        Evaluation.objects.filter(lease__token=token, status=Evaluation.Status.PENDING).update(
            lease_expires_at=None
        )


LAST_USE_RESOLUTION = timedelta(minutes=1)
"""How stale a token's recorded last use may get: the tokens page shows it to the minute, and
recording every request's would add a write to each claim, extension and report."""


def authenticate_token(secret: str) -> WorkerToken | None:
    """The active token with this secret, or None (unknown or revoked); records its last use.

    The last use is written at most once per ``LAST_USE_RESOLUTION``.
    """
    if not secret:
        return None
    token = WorkerToken.objects.select_related("owner").filter(digest=token_digest(secret)).first()
    if token is None or not token.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        WorkerToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_studies(token: WorkerToken) -> QuerySet[Study]:
    """The studies whose work the token may take: its study, or all of its owner's."""
    if token.study_id is not None:
        return Study.objects.filter(pk=token.study_id, owner_id=token.owner_id)
    return Study.objects.filter(owner_id=token.owner_id)


def token_reaches(token: WorkerToken, study: Study) -> bool:
    """Whether ``study`` is one of ``token_studies(token)``, decided without a query."""
    return study.owner_id == token.owner_id and token.study_id in (None, study.pk)


def visible_tokens(owner: User, study: Study | None = None) -> QuerySet[WorkerToken]:
    """The owner's tokens (for one study: that study's and the owner's worker-wide ones)."""
    tokens = WorkerToken.objects.filter(owner=owner).select_related("study")
    if study is not None:
        tokens = tokens.filter(Q(study=study) | Q(study__isnull=True))
    return tokens.order_by("-created_at")
