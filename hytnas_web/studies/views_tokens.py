"""Worker tokens: the signed-in user's list, a form to make one, and revoking one.

A token's secret exists in one place only: the page that answers the POST that made it. It is never
stored (only its digest is), never put in a URL or the session, and the answer is marked
uncacheable, so reloading the list later cannot show it again. Like every page here these need a
signed-in user and only ever load that user's tokens and studies: anyone else's token is a 404.
"""

from __future__ import annotations

import shlex
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies import services
from hytnas_web.studies.forms import WorkerTokenForm
from hytnas_web.studies.models import Study, WorkerToken

WORKER_MODULE = "search_engine.worker"
"""What a worker machine runs (``python -m search_engine.worker``)."""


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def token_list(request: SignedInRequest) -> HttpResponse:
    """The user's tokens and the form to make one; ``?study=<id>`` preselects one of their studies."""
    issued = None
    if request.method == "POST":
        form = WorkerTokenForm(request.POST, owner=request.user)
        if form.is_valid():
            data = form.cleaned_data
            issued = services.issue_token(request.user, data["name"], study=data["study"])
            form = WorkerTokenForm(owner=request.user, initial={"study": issued.token.study_id})
    else:
        form = WorkerTokenForm(owner=request.user, initial={"study": _preselected(request)})
    context: dict[str, Any] = {
        "form": form,
        "tokens": services.visible_tokens(request.user),
        "issued": issued,
        "command": _worker_command(request, issued.secret) if issued else None,
    }
    return render(request, "studies/tokens.html", context)


def _preselected(request: SignedInRequest) -> int | None:
    """The id of ``?study=`` when it is one of the user's studies; anything else preselects nothing."""
    text = request.GET.get("study", "")
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text) if Study.objects.filter(pk=int(text), owner=request.user).exists() else None


def _worker_command(request: HttpRequest, secret: str) -> str:
    """The command a worker machine runs with this secret, pointed at this server's address."""
    server = request.build_absolute_uri("/")
    return f"python -m {WORKER_MODULE} --server {shlex.quote(server)} --token {shlex.quote(secret)}"


@login_required
@require_POST
def token_revoke(request: SignedInRequest, pk: int) -> HttpResponse:
    """Refuse the token from now on (kept, so what its workers measured stays attributable)."""
    token = get_object_or_404(WorkerToken, pk=pk, owner=request.user)
    services.revoke_token(token)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) revoked: its workers are refused.")
    return redirect("studies-tokens")
