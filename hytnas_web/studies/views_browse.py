"""Browsing pages: a study's architectures table, one architecture, and the comparison of studies.

Like every study page these need a signed-in user and only ever load that user's studies: another
user's study, evaluation or id in a comparison is a 404. Sorting, filtering and paging happen on
the server (``services.browse_evaluations``); the compare page's figures are Plotly figure dicts
embedded with ``json_script`` and drawn by ``static/js/figures.js``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies import services
from hytnas_web.studies.forms.manage import EvaluationNotesForm
from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services import proxy_correlation

ANY = [("", "any")]


class ArchitectureFilterForm(forms.Form):
    """The table's query string: fixed filters and one filter per design variable of the study's space.

    A bad value is left out (the rest still applies) and named in ``problems``, so the page says
    what it did not apply instead of failing. A categorical variable's field is ``v<i>`` (a select of
    its choices), a numeric one's ``v<i>-min`` and ``v<i>-max``; equal bounds ask for one value.
    """

    sort = forms.CharField(required=False, max_length=40)
    pareto = forms.BooleanField(required=False, label="Pareto front only")
    iteration = forms.IntegerField(required=False, min_value=0, label="Iteration")
    status = forms.ChoiceField(required=False, choices=ANY + Evaluation.Status.choices, label="Status")
    source = forms.ChoiceField(required=False, choices=ANY + Evaluation.Source.choices, label="Source")
    page = forms.CharField(required=False, max_length=12)

    def __init__(self, data: QueryDict, variables: Sequence[services.VariableColumn] = ()) -> None:
        super().__init__(data)
        self.variables = list(variables)
        for column in self.variables:
            if column.choices:
                choices = ANY + [(str(c), str(c)) for c in column.choices]
                self.fields[f"v{column.index}"] = forms.ChoiceField(
                    required=False, choices=choices, label=column.name
                )
            else:
                for end, words in (("min", "at least"), ("max", "at most")):
                    self.fields[f"v{column.index}-{end}"] = forms.FloatField(
                        required=False, label=f"{column.name} {words}"
                    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for column in self.variables:
            low, high = cleaned.get(f"v{column.index}-min"), cleaned.get(f"v{column.index}-max")
            if low is not None and high is not None and low > high:
                self.add_error(f"v{column.index}-max", f"must be at least the minimum ({low:g})")
        return cleaned

    def variable_filters(self) -> tuple[services.VariableFilter, ...]:
        """The filters of the variables whose fields are valid and set."""
        chosen = self.cleaned_data
        filters = []
        for column in self.variables:
            equals = column.choice(chosen.get(f"v{column.index}") or "") if column.choices else None
            low, high = chosen.get(f"v{column.index}-min"), chosen.get(f"v{column.index}-max")
            if equals is not None or low is not None or high is not None:
                filters.append(services.VariableFilter(column, equals, low, high))
        return tuple(filters)

    def variable_fields(self) -> list[tuple[services.VariableColumn, list[forms.BoundField]]]:
        """Each variable with its bound field(s), for the filters' template."""
        names = {
            c.index: [n for n in self.fields if n.split("-")[0] == f"v{c.index}"] for c in self.variables
        }
        return [(column, [self[name] for name in names[column.index]]) for column in self.variables]

    def problems(self) -> list[str]:
        """What was not applied and why, in words (``patch_stage3 at least: Enter a number.``)."""
        return [
            f"{self.fields[name].label or name}: {' '.join(str(e) for e in errors)}"
            for name, errors in self.errors.items()
            if name in self.fields
        ]


@login_required
def study_architectures(request: SignedInRequest, pk: int) -> HttpResponse:
    """Every architecture of a study, 50 to a page: sortable by any column, filterable by any variable."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    form = ArchitectureFilterForm(request.GET, services.variable_columns(study))
    form.is_valid()  # invalid fields are simply left out of cleaned_data, and named by form.problems()
    chosen = form.cleaned_data
    browse = services.browse_evaluations(
        study,
        sort=chosen.get("sort") or "id",
        pareto_only=bool(chosen.get("pareto")),
        iteration=chosen.get("iteration"),
        status=chosen.get("status") or "",
        source=chosen.get("source") or "",
        variable_filters=form.variable_filters(),
        page=chosen.get("page") or 1,
    )
    return render(
        request,
        "studies/architectures.html",
        {
            "study": study,
            "form": form,
            "browse": browse,
            "page": browse.page,
            "columns": _columns(request.GET, study, browse),
            "filter_problems": form.problems(),
            "variable_fields": form.variable_fields(),
            "previous_query": page_query(request.GET, browse.page, -1),
            "next_query": page_query(request.GET, browse.page, +1),
            "page_params": params_except(request.GET, "page"),
            "filtered": browse.filtered,
        },
    )


def query_with(params: QueryDict, **changes: Any) -> str:
    """``params`` with some keys replaced (None removes them), as a query string with its ``?``."""
    query = params.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = str(value)
    return "?" + query.urlencode() if query else "?"


def params_except(params: QueryDict, *left_out: str) -> list[tuple[str, str]]:
    """The query's other parameters, for the hidden inputs of a form that changes ``left_out``."""
    return [(key, value) for key, values in params.lists() if key not in left_out for value in values]


def page_query(params: QueryDict, page: Any, step: int) -> str | None:
    """The query string of the neighbouring page, or None at either end."""
    if step < 0 and not page.has_previous():
        return None
    if step > 0 and not page.has_next():
        return None
    return query_with(params, page=page.number + step)


def _columns(params: QueryDict, study: Study, browse: services.EvaluationBrowse) -> list[dict[str, Any]]:
    """Sortable column headers: label, link (toggles the direction on the current column), state.

    Id, iteration, source, status, then one per design variable (``kind`` "variable"), then one per
    objective (``kind`` "objective").
    """
    labels = {"id": "Id", "iteration": "Iteration", "source": "Source", "status": "Status"}
    keyed: list[tuple[str, Any, str]] = [(key, label, "") for key, label in labels.items()]
    keyed += [(c.sort_key, c.name, "variable") for c in browse.variables]
    keyed += [(f"objective-{i}", o, "objective") for i, o in enumerate(study.objectives)]
    columns = []
    for key, label, kind in keyed:
        state = "ascending" if browse.sort == key else "descending" if browse.sort == f"-{key}" else ""
        toggled = f"-{key}" if state == "ascending" else key
        columns.append(
            {
                "key": key,
                "label": label,
                "kind": kind,
                "objective": kind == "objective",
                "query": query_with(params, sort=toggled, page=None),
                "state": state,
            }
        )
    return columns


@login_required
def study_architecture(request: SignedInRequest, pk: int, evaluation_pk: int) -> HttpResponse:
    """One architecture: decoded configuration, objectives, per-stage latency, predicted vs measured."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    evaluation = get_object_or_404(
        Evaluation.objects.select_related("iteration"), pk=evaluation_pk, study=study
    )
    return render(request, "studies/architecture.html", architecture_context(study, evaluation))


def architecture_context(
    study: Study, evaluation: Evaluation, notes_form: EvaluationNotesForm | None = None
) -> dict[str, Any]:
    """What the architecture page shows (also used to redisplay it after refused notes)."""
    return {
        "study": study,
        "evaluation": evaluation,
        "detail": services.architecture_detail(study, evaluation),
        "proxy_correlation": proxy_correlation.study_correlation(study),
        "notes_form": notes_form or EvaluationNotesForm(instance=evaluation),
    }


@login_required
def study_compare(request: SignedInRequest) -> HttpResponse:
    """Pick two or more of one's studies and compare them, or see two architectures side by side.

    ``?ids=`` names studies; ``?architectures=`` names two architectures (evaluation ids, of one
    study or of two) from the architectures table's checkboxes or an architecture's "compare with".
    """
    wanted = _ids(request.GET.getlist("ids"))
    mine = list(Study.objects.filter(owner=request.user).order_by("-updated_at"))
    by_id = {study.pk: study for study in mine}
    if any(pk not in by_id for pk in wanted):
        raise Http404("no such study")
    chosen = [by_id[pk] for pk in wanted]
    comparison = services.compare_studies(chosen) if len(chosen) >= 2 else None
    context: dict[str, Any] = {
        "studies": mine,
        "chosen_ids": set(wanted),
        "chosen": chosen,
        "comparison": comparison,
    }
    status = 200
    if "architectures" in request.GET:
        picked, problem, status = _picked_architectures(request, request.GET.getlist("architectures"))
        context["architectures_problem"] = problem
        context["architectures"] = services.compare_architectures(picked) if picked else None
    return render(request, "studies/compare.html", context, status=status)


ARCHITECTURES_COMPARED = 2
"""How many architectures the side-by-side view shows."""


def _picked_architectures(request: SignedInRequest, values: list[str]) -> tuple[list[Evaluation], str, int]:
    """The user's architectures named by ``values``, or why not (a message and a status code)."""
    texts = list(dict.fromkeys(text.strip() for text in values if text.strip()))
    bad = next((text for text in texts if not text.isdigit() or len(text) > 18), None)
    if bad is not None:
        return (
            [],
            f"“{bad[:40]}” is not an architecture id: ids are the numbers in the table's Id column.",
            400,
        )
    if len(texts) != ARCHITECTURES_COMPARED:
        return [], f"Pick two architectures to see them side by side ({len(texts)} picked).", 200
    ids = [int(text) for text in texts]
    found = Evaluation.objects.select_related("study").filter(pk__in=ids, study__owner=request.user)
    by_id = {evaluation.pk: evaluation for evaluation in found}
    missing = [pk for pk in ids if pk not in by_id]
    if missing:
        return [], f"None of your studies has an architecture {missing[0]}.", 404
    return [by_id[pk] for pk in ids], "", 200


def _ids(values: list[str]) -> list[int]:
    """Distinct study ids in the order given; anything that is not an id is a 404."""
    ids: list[int] = []
    for text in values:
        if not text.isdigit() or len(text) > 18:
            raise Http404("not an id")
        if int(text) not in ids:
            ids.append(int(text))
    return ids
