"""The latency predictor calibrated on a study's device measurements: its cross-validated fit per stage.

Like every study page it needs a signed-in user and only loads that user's study (another's is a 404).
A study with too few measurements gets the page all the same, saying how many the fit needs. Its one
action (POST) searches against the predictor and queues the predicted front for the device.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies.models import Study
from hytnas_web.studies.services import latency_predictor
from hytnas_web.studies.services.lifecycle import ActionNotAllowed


@login_required
@require_GET
def study_latency_predictor(request: SignedInRequest, pk: int) -> HttpResponse:
    """The latency predictor page of one study."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    page = latency_predictor.study_latency_predictor(study)
    context = {"study": study, "page": page, "running": study.status == Study.Status.RUNNING}
    return render(request, "studies/latency_predictor.html", context)


@login_required
@require_POST
def study_remeasure_predicted_front(request: SignedInRequest, pk: int) -> HttpResponse:
    """Search against the predictor and queue its predicted front for the device; back to the page."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    try:
        queued = latency_predictor.remeasure_predicted_front(study)
    except ActionNotAllowed as exc:
        messages.error(request, str(exc))
        return redirect("studies-latency-predictor", pk=study.pk)
    if queued:
        messages.success(request, f"{queued} architectures of the predicted front queued for the device.")
    else:
        messages.info(request, "Every architecture on the predicted front is already measured or queued.")
    return redirect("studies-latency-predictor", pk=study.pk)
