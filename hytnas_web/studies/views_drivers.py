"""What drives each objective: importance, a slice and a contour from the study's own surrogate.

Like every study page it needs a signed-in user and only loads that user's study (another's is a
404). The choices (objective, slice variable, contour pair) are a GET form, so each view has its own
address; a choice the study does not have falls back to the default.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies import services
from hytnas_web.studies.models import Study


@login_required
def study_drivers(request: SignedInRequest, pk: int) -> HttpResponse:
    """The drivers page of one study."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    page = services.study_drivers(
        study,
        objective=request.GET.get("objective", "")[:200],
        variable=request.GET.get("variable", "")[:200],
        x_variable=request.GET.get("x", "")[:200],
        y_variable=request.GET.get("y", "")[:200],
    )
    return render(request, "studies/drivers.html", {"study": study, "page": page, "rows": _rows(page)})


def _rows(page: services.DriversPage) -> list[dict[str, Any]]:
    """The importance table: one row per variable (the first objective's order), a share per objective."""
    if not page.importance:
        return []
    shares = [dict(zip(r.variables, r.shares, strict=True)) for r in page.importance]
    return [{"variable": v, "shares": [s[v] for s in shares]} for v in page.importance[0].variables]
