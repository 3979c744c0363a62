"""Housekeeping pages: rename, notes, archive, delete, re-measure noisy ones; notes on an architecture.

Like every study page these need a signed-in user and only ever load that user's studies (another
user's is a 404). Every change is a POST that redirects back; a refused value re-renders the page it
came from with the message at its field and a 400.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies import services
from hytnas_web.studies.forms.manage import EvaluationNotesForm, RenameStudyForm, StudyNotesForm
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services import noisy
from hytnas_web.studies.views_browse import architecture_context
from hytnas_web.studies.views_dashboard import dashboard_context


@login_required
@require_POST
def study_rename(request: SignedInRequest, pk: int) -> HttpResponse:
    """Give the study a new name."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    old_name = study.name
    form = RenameStudyForm(request.POST, instance=Study.objects.get(pk=study.pk))
    if not form.is_valid():
        return render(request, "studies/detail.html", dashboard_context(study, rename_form=form), status=400)
    services.rename_study(study, form.cleaned_data["name"])
    messages.success(request, f"Renamed “{old_name}” to “{study.name}”.")
    return redirect("studies-detail", pk=study.pk)


@login_required
@require_POST
def study_notes(request: SignedInRequest, pk: int) -> HttpResponse:
    """Replace the study's notes."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    form = StudyNotesForm(request.POST, instance=Study.objects.get(pk=study.pk))
    if not form.is_valid():
        return render(request, "studies/detail.html", dashboard_context(study, notes_form=form), status=400)
    services.set_study_notes(study, form.cleaned_data["notes"])
    messages.success(request, "Notes saved." if study.notes else "Notes removed.")
    return redirect("studies-detail", pk=study.pk)


@login_required
@require_POST
def study_archive(request: SignedInRequest, pk: int, archived: bool) -> HttpResponse:
    """Archive the study (out of the default list, kept whole) or bring it back."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    services.set_archived(study, archived)
    if archived:
        messages.success(
            request, f"Archived “{study.name}”: it is kept whole, listed under archived studies."
        )
    else:
        messages.success(request, f"“{study.name}” is back in the study list.")
    return redirect("studies-detail", pk=study.pk)


@login_required
@require_http_methods(["GET", "POST"])
def study_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: what deleting would lose, and a confirmation button. POST: delete, back to the list."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    if request.method == "POST":
        name = services.delete_study(study)
        messages.success(request, f"Deleted “{name}” and everything measured in it.")
        return redirect("studies-list")
    return render(request, "studies/delete.html", {"study": study, "losses": services.deletion_losses(study)})


@login_required
@require_POST
def evaluation_notes(request: SignedInRequest, pk: int, evaluation_pk: int) -> HttpResponse:
    """Replace an architecture's notes."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    evaluation = get_object_or_404(
        Evaluation.objects.select_related("iteration"), pk=evaluation_pk, study=study
    )
    form = EvaluationNotesForm(request.POST, instance=Evaluation.objects.get(pk=evaluation.pk))
    if not form.is_valid():
        context = architecture_context(study, evaluation, notes_form=form)
        return render(request, "studies/architecture.html", context, status=400)
    services.set_evaluation_notes(evaluation, form.cleaned_data["notes"])
    messages.success(request, "Notes saved." if evaluation.notes else "Notes removed.")
    return redirect("studies-architecture", pk=study.pk, evaluation_pk=evaluation.pk)


@login_required
@require_http_methods(["GET", "POST"])
def study_remeasure_noisy(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the noisy measurements and a confirmation button. POST: re-measure them, then the study."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    if request.method == "POST":
        try:
            count = noisy.request_remeasurement(study)
        except noisy.RemeasureRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                f"Re-measuring {count} noisy measurement(s) on the evaluations queue; each old one is kept "
                "on its architecture's page.",
            )
        return redirect("studies-detail", pk=study.pk)
    return render(request, "studies/remeasure_noisy.html", noisy.remeasure_context(study))
