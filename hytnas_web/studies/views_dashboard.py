"""The study page as a live dashboard, and the small JSON endpoint it polls for what changed.

The page is rendered whole once (every chart's figure embedded with ``json_script``); after that,
static/js/dashboard.js asks ``studies-dashboard-data`` with the version it has and gets a 304
when nothing changed, or only the changes: it never downloads the whole study again.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from hytnas_web.lib.shared_answers import SharedAnswers
from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies import services
from hytnas_web.studies.forms import SavePresetForm
from hytnas_web.studies.forms.manage import RenameStudyForm, StudyNotesForm
from hytnas_web.studies.models import ComponentKind, Iteration, Study
from hytnas_web.studies.services import auto_choice, pending_work, proxy_correlation, table_fit
from hytnas_web.studies.services.dashboard_polls import (
    ANSWER_CACHE_SECONDS,
    Probe,
    Version,
    answer_key,
    poll_interval,
    poll_target,
)

RECENT_EVALUATIONS = 20
"""Evaluations listed on the dashboard (the newest); the architectures page lists them all."""

CHART_NAMES = ("pareto", "hypervolume", "stage_latency", "stage_share", "fidelity", "timing")
"""Charts in page order; each has a ``json_script`` element ``chart-<name>`` (null when empty)."""


@login_required
@require_GET
def study_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """The study's dashboard: header, progress, actions, charts, iterations, recent evaluations."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    return render(request, "studies/detail.html", dashboard_context(study))


def dashboard_context(
    study: Study,
    preset_form: SavePresetForm | None = None,
    rename_form: RenameStudyForm | None = None,
    notes_form: StudyNotesForm | None = None,
) -> dict[str, Any]:
    """Everything the study page shows (also used to redisplay it after a refused action or form)."""
    failed = study.iterations.filter(status=Iteration.Status.FAILED).order_by("-index").first()
    payload = services.dashboard(study)
    figures, notes = payload["figures"], payload["notes"]
    fits = table_fit.study_fit(study)
    return {
        "study": study,
        "progress": services.study_progress(study),
        "dashboard": payload,
        "charts": [
            {
                "name": name,
                "element_id": f"chart-{name}",
                "figure": figures[name],
                "note": notes.get(name),
            }
            for name in CHART_NAMES
        ],
        "actions": services.allowed_actions(study),
        "iterations": study.iterations.order_by("index"),
        "failed_iteration": failed,
        "evaluations": _recent_evaluations(study),
        "n_evaluations": study.evaluations.count(),
        "show_device": services.measures_on_device(study),
        "workers": _workers(study),
        "pending": _pending(study),
        "components": [{"label": ComponentKind(k).label, **spec} for k, spec in study.components.items()],
        "budgets": services.budget_summary(study),
        "table_fit": fits,
        "table_fit_beyond": table_fit.beyond_the_tables(study, fits),
        "proxy_correlation": proxy_correlation.study_correlation(study),
        "auto_choice": auto_choice.study_auto_choice(study),
        "preset_form": preset_form or SavePresetForm(),
        "rename_form": rename_form or RenameStudyForm(instance=study),
        "notes_form": notes_form or StudyNotesForm(instance=study),
        "links": _links(study),
    }


def _workers(study: Study) -> services.WorkersPanel | None:
    """The remote-evaluation panel: for studies measured by evaluation workers only."""
    return services.workers_panel(study) if services.study_dispatch(study) == "remote" else None


def _pending(study: Study) -> pending_work.PendingList | None:
    """The architectures waiting for a measurement: for studies whose work may be done by hand only."""
    return pending_work.pending_list(study) if pending_work.measured_by_hand(study) else None


def _pending_html(pk: int) -> str:
    """The pending architectures, fresh (a lease runs out without a new version)."""
    study = Study.objects.get(pk=pk)
    pending = _pending(study)
    return (
        ""
        if pending is None
        else render_to_string("studies/pending_work.html", {"study": study, "pending": pending})
    )


def _recent_evaluations(study: Study) -> list[Any]:
    """The newest evaluations, oldest first, so a big study's page stays small."""
    recent = study.evaluations.select_related("iteration").order_by("-id")[:RECENT_EVALUATIONS]
    return list(reversed(recent))


def _links(study: Study) -> dict[str, str | None]:
    """URLs of the study's other pages; None for a page this installation does not have."""
    names = {
        "architectures": "studies-architectures",
        "drivers": "studies-drivers",
        "export_evaluations": "studies-export-evaluations",
        "export_pareto": "studies-export-pareto",
        "export_history": "studies-export-history",
        "import": "studies-import",
        "data": "studies-dashboard-data",
    }
    links: dict[str, str | None] = {key: _url(name, study.pk) for key, name in names.items()}
    architecture = _url("studies-architecture", study.pk, 0)
    # The page opens a clicked point at <prefix><evaluation id>/ (the 0 is a placeholder).
    links["architecture_prefix"] = architecture[: -len("0/")] if architecture else None
    compare = _url("studies-compare")
    links["compare"] = f"{compare}?ids={study.pk}" if compare else None
    tokens = _url("studies-tokens")
    links["tokens"] = f"{tokens}?study={study.pk}" if tokens else None
    return links


def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


ANSWERS = SharedAnswers(timeout=ANSWER_CACHE_SECONDS)
"""Built answers of the data endpoint, shared by every watcher of the same versions."""


@login_required
@require_GET
@never_cache
def study_dashboard_data(request: SignedInRequest, pk: int) -> HttpResponse:
    """What changed since ``?since=<version>``: 304 when nothing did, else JSON (see services.dashboard).

    Many watchers ask the same question, so the answer is built once per (since, version) and shared
    (``SharedAnswers``); only the CSRF token of its forms, a remote study's workers panel and an
    external study's pending architectures (leases change without a new version), are filled in
    per request. ``X-Poll-Interval`` tells the page how
    many seconds to wait before the next poll.
    """
    since = request.GET.get("since") or None
    built: list[bool] = []

    def build() -> dict[str, str]:
        built.append(True)
        return _answer(target, since)

    try:
        watcher = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")  # one per browser session
        poll = poll_target(pk, request.user.pk, watcher=watcher)
        target = poll.probe
        seen = Version.parse(since)
        if seen is not None and seen.covers(target.version):
            response = HttpResponse(status=304)
        else:
            since = poll.since(since)
            answer = ANSWERS.get_or_build(answer_key(target, since), build)
            body = answer["body"].replace(answer["csrf"], get_token(request))
            if answer["workers"]:
                body = body.replace(json.dumps(answer["workers"]), json.dumps(_workers_html(pk)))
            if answer.get("pending"):
                body = body.replace(json.dumps(answer["pending"]), json.dumps(_pending_html(pk)))
            response = HttpResponse(body, content_type="application/json")
    except Study.DoesNotExist:
        raise Http404("No such study.") from None
    response["X-Poll-Interval"] = f"{poll_interval():g}"
    # Whether this answer was built for this request, shared (built for another) or empty (304).
    shared = "shared" if response.status_code == 200 else "none"
    response["X-Dashboard-Answer"] = "built" if built else shared
    return response


def _answer(target: Probe, since: str | None) -> dict[str, str]:
    """The JSON body from ``since`` to ``target``, with placeholders for what is per request."""
    study = Study.objects.get(pk=target.study_id)
    changes = services.dashboard_changes(study, since, until=target.version)
    assert changes is not None  # ``since`` older than ``target``: the view answered 304 otherwise
    full = bool(changes.get("full"))
    changes["html"] = _tables_html(
        study,
        iterations=full or bool(changes.get("iterations_changed")),
        evaluations=full or bool(changes.get("evaluations_changed")),
    )
    # The status may have changed: offer the actions it allows now (small; needs the CSRF token).
    csrf = secrets.token_hex(16)
    actions = {
        "study": study,
        "actions": services.allowed_actions(study),
        "preset_form": SavePresetForm(),
        "csrf_token": csrf,
    }
    changes["html"]["actions"] = render_to_string("studies/actions.html", actions)
    workers = f"workers-{secrets.token_hex(16)}" if services.study_dispatch(study) == "remote" else ""
    if workers:
        changes["html"]["workers"] = workers
    pending = f"pending-{secrets.token_hex(16)}" if pending_work.measured_by_hand(study) else ""
    if pending:
        changes["html"]["pending"] = pending
    body = json.dumps(changes, cls=DjangoJSONEncoder)
    return {"body": body, "csrf": csrf, "workers": workers, "pending": pending}


def _workers_html(pk: int) -> str:
    """The remote-evaluation panel, fresh (leases change without a new evaluation)."""
    study = Study.objects.get(pk=pk)
    workers = _workers(study)
    if workers is None:
        return ""
    context = {"study": study, "workers": workers, "links": _links(study)}
    return render_to_string("studies/workers_panel.html", context)


def _tables_html(study: Study, iterations: bool, evaluations: bool) -> dict[str, str]:
    """Changed tables (iterations, recent evaluations), rendered like on the page."""
    html: dict[str, str] = {}
    if iterations:
        iterations_context = {"study": study, "iterations": study.iterations.order_by("index")}
        html["iterations"] = render_to_string("studies/iterations_table.html", iterations_context)
        chosen = {"auto_choice": auto_choice.study_auto_choice(study)}
        html["auto_choice"] = render_to_string("studies/auto_choice.html", chosen)
    if evaluations:
        context: dict[str, object] = {
            "study": study,
            "evaluations": _recent_evaluations(study),
            "n_evaluations": study.evaluations.count(),
            "show_device": services.measures_on_device(study),
            "links": _links(study),
        }
        html["evaluations"] = render_to_string("studies/recent_evaluations.html", context)
        correlation = {"proxy_correlation": proxy_correlation.study_correlation(study)}
        html["proxy_correlation"] = render_to_string("studies/proxy_correlation.html", correlation)
    return html
