"""Sign-in limits (django-axes): whose attempts count together, and the page a locked-out person sees.

The client's address without a proxy is the socket's peer, ``REMOTE_ADDR``. Behind one
(``HYTNAS_BEHIND_PROXY``) every request comes from the proxy, so counting ``REMOTE_ADDR`` would lock
everyone out together after a few failures; the client is then the last ``X-Forwarded-For`` entry,
the one the proxy appended itself. Entries before it were sent by the client and may be forged, so
they are never used.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for ``request`` (None when the request carries none, as in tests)."""
    if settings.BEHIND_PROXY:
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """HTTP 429 with a page saying why sign-in is refused and for how long (in minutes, not ISO 8601)."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {"username": username, "failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
