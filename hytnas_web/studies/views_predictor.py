"""The latency predictor calibrated on a study's device measurements: its cross-validated fit per stage.

Like every study page it needs a signed-in user and only loads that user's study (another's is a 404).
A study with too few measurements gets the page all the same, saying how many the fit needs.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies.models import Study
from hytnas_web.studies.services import latency_predictor


@login_required
@require_GET
def study_latency_predictor(request: SignedInRequest, pk: int) -> HttpResponse:
    """The latency predictor page of one study."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    page = latency_predictor.study_latency_predictor(study)
    return render(request, "studies/latency_predictor.html", {"study": study, "page": page})
