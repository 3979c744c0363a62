"""The request a view behind ``login_required`` receives: one whose ``user`` is a signed-in ``User``."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class SignedInRequest(HttpRequest):
    """An ``HttpRequest`` whose user has signed in, as ``login_required`` has checked before the view runs.

    Only a type: Django still passes its own request object. Annotating a view's request with it states
    what the decorator guarantees, so ``request.user`` is a ``User`` (with its id, for owner filters)
    rather than ``User | AnonymousUser``.
    """

    user: User
