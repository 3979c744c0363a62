"""Study pages: the list, the creation form, the study page and its lifecycle actions.

Every view requires a signed-in user and only ever loads that user's studies (another user's study
is a 404). Views read the request through a form, call one function in ``services`` and render an
explicit context or redirect; actions are POST-only and CSRF-protected like every form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies import services
from hytnas_web.studies.forms import (
    SavePresetForm,
    StudyForm,
    StudyFormInitial,
    default_initial,
    initial_values,
)
from hytnas_web.studies.forms.manage import StudyListForm
from hytnas_web.studies.forms.rows import TABLE_SLOTS
from hytnas_web.studies.models import Preset, Study
from hytnas_web.studies.services import table_fit
from hytnas_web.studies.services.kept_tables import KeptTables
from hytnas_web.studies.services.scheduling import Enqueueing
from hytnas_web.studies.views_browse import page_query, params_except
from hytnas_web.studies.views_dashboard import dashboard_context as detail_context

ACTIONS: dict[str, Callable[[Study], Enqueueing | None]] = {
    "start": services.start_study,
    "pause": services.pause_study,
    "resume": services.resume_study,
    "cancel": services.cancel_study,
    "retry": services.retry_study,
}
"""Lifecycle actions by URL name suffix; ``services.allowed_actions`` says which a study offers."""

ACTION_DONE = {
    "start": "started",
    "pause": "paused",
    "resume": "resumed",
    "cancel": "cancelled",
    "retry": "restarted from its failed iteration",
}

QUEUE_AWAY = (
    "The work queue (Redis) cannot be reached right now: the work is saved and will start by itself "
    "when the queue is reachable again."
)


STUDIES_PER_PAGE = 25


@login_required
def study_list(request: SignedInRequest) -> HttpResponse:
    """The user's studies with their progress: searched, filtered, sorted and paged on the server."""
    form = StudyListForm(request.GET, evaluators=services.owner_evaluators(request.user))
    chosen = form.values()
    studies = services.find_studies(
        request.user,
        text=chosen["text"],
        status=chosen["status"],
        evaluator=chosen["evaluator"],
        archived=chosen["archived"],
        sort=chosen["sort"],
    ).select_related("owner")
    page = Paginator(studies, STUDIES_PER_PAGE).get_page(chosen["page"])
    context = {
        "form": form,
        "rows": [(study, services.study_progress(study)) for study in page],
        "page": page,
        "previous_query": page_query(request.GET, page, -1),
        "next_query": page_query(request.GET, page, +1),
        "page_params": params_except(request.GET, "page"),
        "filtered": any(chosen[key] for key in ("text", "status", "evaluator")),
        "archived": chosen["archived"],
        "n_studies": Study.objects.filter(owner=request.user).count(),
    }
    return render(request, "studies/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def study_create(request: SignedInRequest) -> HttpResponse:
    """The study form; ``?preset=<id>`` pre-fills components and sizes, ``?clone=<id>`` everything."""
    presets = services.available_presets(request.user)
    study_form = functools.partial(
        StudyForm, catalogue=services.component_catalogue(), owner=request.user, presets=presets
    )
    kept = _kept_tables(request)
    if request.method == "POST":
        form = study_form(request.POST, request.FILES, kept=kept.tables())
        if form.is_valid():
            data = form.main.cleaned_data
            study = services.save_study(
                request.user,
                data["name"],
                form.config,
                preset=data["preset"],
                warm_start_from=data["warm_start_from"],
            )
            kept.forget()
            messages.success(request, f"Study “{study.name}” created as a draft; start it when ready.")
            return redirect("studies-detail", pk=study.pk)
        form.show_kept(kept.keep(form.tables_to_keep()))
    else:
        form = study_form(initial=_create_initial(request, presets))
    return render(request, "studies/create.html", _create_context(form, presets, kept.token))


def _kept_tables(request: SignedInRequest) -> KeptTables:
    """The tables kept for the form this request posts (a GET starts a new form: none)."""
    if request.session.session_key is None:
        request.session.save()  # a key of its own to keep tables under
    token = request.POST.get("upload_token") if request.method == "POST" else None
    return KeptTables(str(request.session.session_key), token, TABLE_SLOTS)


def _create_initial(request: HttpRequest, presets: list[Preset]) -> StudyFormInitial:
    """Initial values: a study to clone, else a chosen preset, else the recommended built-in preset."""
    if "clone" in request.GET:
        study = get_object_or_404(Study, pk=_id(request.GET["clone"]), owner=request.user)
        initial = initial_values(config=services.study_config(study).to_dict())
        if study.ref_point_derived:
            initial.main.pop("ref_point", None)  # derived from the data last time: derive it again
        initial.main.update(name=f"{study.name} (copy)", preset=study.preset_id)
        initial.main["tables_from"] = study.pk if services.study_tables(study) else None
        return initial
    if "preset" in request.GET:
        wanted = _id(request.GET["preset"])
        preset = next((p for p in presets if p.pk == wanted), None)
        if preset is None:
            raise Http404("no such preset")
    else:
        preset = next((p for p in presets if p.owner_id is None and p.key == services.DEFAULT_PRESET), None)
    return default_initial(preset)


def _create_context(form: StudyForm, presets: list[Preset], upload_token: str) -> dict[str, Any]:
    built_in = [p for p in presets if p.owner_id is None]
    uploaded = form.uploaded_tables_evaluator()
    return {
        "upload_token": upload_token,
        "table_fit": table_fit.evaluator_fit(uploaded) if uploaded is not None else None,
        "form": form,
        "built_in_presets": built_in,
        "own_presets": [p for p in presets if p.owner_id is not None],
        "selected_preset": form.main["preset"].value(),
        "objective_defaults": services.objective_defaults(),
        "max_upload_bytes": settings.MAX_TABLE_UPLOAD_BYTES,
    }


def _id(text: str) -> int:
    """A primary key from a query parameter; anything else is a 404, not a server error."""
    if not text.isdigit() or len(text) > 18:
        raise Http404("not an id")
    return int(text)


@login_required
@require_POST
def study_action(request: SignedInRequest, pk: int, action: str) -> HttpResponse:
    """Start, pause, resume, cancel or retry; a transition the status does not allow is a 400."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    try:
        enqueueing = ACTIONS[action](study)
    except services.ActionNotAllowed as exc:
        messages.error(request, str(exc))
        study.refresh_from_db()
        return render(request, "studies/detail.html", detail_context(study), status=400)
    if enqueueing is not None and enqueueing.failed:
        messages.warning(request, f"Study {ACTION_DONE[action]}. {QUEUE_AWAY}")
    else:
        messages.success(request, f"Study {ACTION_DONE[action]}.")
    return redirect("studies-detail", pk=study.pk)


@login_required
@require_POST
def study_clone(request: SignedInRequest, pk: int) -> HttpResponse:
    """A new draft with the same configuration."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    copy = services.clone_study(study, request.user)
    messages.success(request, f"Cloned into the draft “{copy.name}”.")
    return redirect("studies-detail", pk=copy.pk)


@login_required
@require_POST
def study_save_preset(request: SignedInRequest, pk: int) -> HttpResponse:
    """Save the study's components and sizes as one of the user's presets."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    form = SavePresetForm(request.POST)
    if not form.is_valid():
        return render(request, "studies/detail.html", detail_context(study, preset_form=form), status=400)
    data = form.cleaned_data
    preset = services.save_preset(request.user, study, data["key"], data["label"], data["description"])
    messages.success(request, f"Saved preset “{preset.label}”; pick it when creating a study.")
    return redirect("studies-detail", pk=study.pk)
