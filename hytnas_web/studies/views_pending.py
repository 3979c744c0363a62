"""Pending work of ``external`` studies done by hand: the CSV to fill in, its upload, and one row typed in.

Only for studies whose evaluator is ``external`` and only for their owner: any other study, or an
evaluation of another study, is a 404, as everywhere. Actions are POSTs that redirect to the study
page; a refused entry is shown again with its errors at their fields (400), an entry for an
evaluation measured meanwhile is refused without overwriting anything (409).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies.forms.pending import PendingEntryForm, as_sentence
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services import pending_upload, pending_work
from hytnas_web.studies.views_csv import ImportForm, csv_response


class PendingUploadForm(ImportForm):
    """The import's upload field and size limit; an upload of pending work is always all-or-nothing."""

    valid_rows_only = None  # type: ignore[assignment]  # Django's way to leave a parent's field out


def _by_hand_study(request: SignedInRequest, pk: int) -> Study:
    """The user's own study whose pending work may be done by hand, or 404."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    if not pending_work.measured_by_hand(study):
        raise Http404("This study's architectures are not measured by hand.")
    return study


@login_required
@require_GET
def study_pending_csv(request: SignedInRequest, pk: int) -> StreamingHttpResponse:
    """Every pending evaluation as a CSV row whose measured columns are empty, to fill in."""
    study = _by_hand_study(request, pk)
    return csv_response(study, "pending", pending_work.export_pending_csv(study))


@login_required
@require_http_methods(["GET", "POST"])
def study_pending_upload(request: SignedInRequest, pk: int) -> HttpResponse:
    """Upload the filled-in CSV: every row checked first, then the filled ones recorded (or none)."""
    study = _by_hand_study(request, pk)
    result = None
    status = 200
    posted = request.method == "POST"
    form = PendingUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST":
        if form.is_valid():
            result = pending_upload.upload_measured_work(study, form.cleaned_data["file"], request.user)
            if result.written and not result.not_pending:
                messages.success(request, _recorded_message(result))
                return redirect("studies-detail", pk=study.pk)
            status = 200 if result.written or not result.errors else 400
        else:
            status = 400
    context = {
        "study": study,
        "form": form,
        "result": result,
        "columns": pending_work.pending_columns(study),
    }
    return render(request, "studies/pending_upload.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def study_pending_entry(request: SignedInRequest, pk: int, evaluation_pk: int) -> HttpResponse:
    """Type one pending evaluation's result into the page: its objectives, or why it failed."""
    study = _by_hand_study(request, pk)
    evaluation = get_object_or_404(Evaluation, pk=evaluation_pk, study=study)
    pending = pending_work.pending_architecture(study, evaluation.pk)
    if pending is None:
        messages.info(request, as_sentence(pending_work.not_pending_reason(evaluation)))
        return redirect("studies-architecture", pk=study.pk, evaluation_pk=evaluation.pk)
    form = PendingEntryForm(
        request.POST if request.method == "POST" else None, columns=pending_work.measured_columns(study)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid() and form.result is not None:
            if pending_work.record_by_hand(evaluation, form.result, request.user):
                outcome = "measured" if form.result.ok else "failed"
                messages.success(
                    request, f"Evaluation {evaluation.pk} recorded as {outcome}, entered by hand."
                )
                return redirect("studies-detail", pk=study.pk)
            evaluation.refresh_from_db()
            form.add_error(None, as_sentence(pending_work.not_pending_reason(evaluation)))
            status = 409
        else:
            status = 400
    context = {"study": study, "pending": pending, "form": form}
    return render(request, "studies/pending_entry.html", context, status=status)


def _recorded_message(result: pending_upload.PendingUpload) -> str:
    """What an upload recorded and what it left pending, in one sentence."""
    parts = [f"Recorded {result.n_done} measured architecture{'s' if result.n_done != 1 else ''}"]
    if result.n_failed:
        parts.append(f"{result.n_failed} failure{'s' if result.n_failed != 1 else ''}")
    if result.n_blank:
        parts.append(f"{result.n_blank} blank row{'s' if result.n_blank != 1 else ''} left pending")
    return ", ".join(parts) + "."
