"""CSV pages of a study: the three streamed exports and the import of measured architectures.

Like every study page they need a signed-in user and only load that user's studies (another
user's study is a 404). Exports stream line by line (``StreamingHttpResponse``) so a large study
never sits in memory; the import validates the whole file in ``services`` before writing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from hytnas_web.lib.signed_in import SignedInRequest
from hytnas_web.studies import services
from hytnas_web.studies.formatting import NBSP, file_size
from hytnas_web.studies.models import Study


def csv_response(study: Study, kind: str, lines: Iterator[str]) -> StreamingHttpResponse:
    """A streamed CSV download named after the study (slug and id: safe in a header)."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"{slugify(study.name) or 'study'}-{study.pk}-{kind}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _export_view(kind: str, export: Callable[[Study], Iterator[str]]) -> Callable[..., StreamingHttpResponse]:
    """A GET view streaming ``export(study)`` for the study's owner."""

    @login_required
    @require_GET
    def view(request: SignedInRequest, pk: int) -> StreamingHttpResponse:
        study = get_object_or_404(Study, pk=pk, owner=request.user)
        return csv_response(study, kind, export(study))

    view.__name__ = view.__qualname__ = f"study_export_{kind}"
    view.__doc__ = f"The study's {kind} as a CSV download (columns in README.md, 'CSV export')."
    return view


study_export_evaluations = _export_view("evaluations", services.export_evaluations_csv)
study_export_pareto = _export_view("pareto", services.export_pareto_csv)
study_export_history = _export_view("history", services.export_history_csv)


class ImportForm(forms.Form):
    """The upload: one CSV, and whether to import the valid rows when some rows have errors."""

    file = forms.FileField(label="CSV of measured architectures")
    valid_rows_only = forms.BooleanField(
        required=False,
        label="Import the valid rows",
        help_text="Import the rows without errors and skip the others (default: any error imports nothing).",
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        limit = settings.MAX_TABLE_UPLOAD_BYTES
        if upload.size > limit:
            size, largest = file_size(upload.size, joiner=NBSP), file_size(limit, joiner=NBSP)
            raise forms.ValidationError(f"The file is {size}; the largest accepted is {largest}.")
        return upload


@login_required
@require_http_methods(["GET", "POST"])
def study_import(request: SignedInRequest, pk: int) -> HttpResponse:
    """Upload measured architectures into a study; errors are listed by line, column and reason."""
    study = get_object_or_404(Study, pk=pk, owner=request.user)
    result = None
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            result = services.import_evaluations(
                study, form.cleaned_data["file"], valid_rows_only=form.cleaned_data["valid_rows_only"]
            )
            if result.written and not (result.errors or result.duplicates):
                messages.success(request, _imported_message(result))
                return redirect("studies-detail", pk=study.pk)
            if result.written:
                messages.success(request, _imported_message(result))
            elif result.errors:
                status = 400
        else:
            status = 400
    else:
        form = ImportForm()
    context = {
        "study": study,
        "form": form,
        "result": result,
        "columns": services.import_columns(study),
        "max_upload_bytes": settings.MAX_TABLE_UPLOAD_BYTES,
        "n_evaluations": study.evaluations.count(),
    }
    return render(request, "studies/import.html", context, status=status)


def _imported_message(result: services.ImportResult) -> str:
    """What was imported and what was left out, in one sentence."""
    parts = [f"Imported {result.n_imported} measured architecture{'s' if result.n_imported != 1 else ''}"]
    if result.duplicates:
        parts.append(f"{result.n_duplicates} duplicate{'s' if result.n_duplicates != 1 else ''} not added")
    if result.errors:
        parts.append(f"{result.error_lines} row{'s' if result.error_lines != 1 else ''} with errors skipped")
    if result.skipped:
        parts.append(f"{len(result.skipped)} unmeasured row{'s' if len(result.skipped) != 1 else ''} skipped")
    return "; ".join(parts) + "."
