"""The study form: a main form, one sub-form per component choice, and formsets for repeated rows.

The form only parses what the browser sent (numbers, JSON, uploads); whether the values make a
valid study is decided by ``services.config_from_form``, whose ConfigError names the bad value by its
configuration path. Each part of the form states the path it fills, so ``places.locate`` finds the
input an error belongs to and every message appears next to the field a user has to change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.utils import ErrorList

from hytnas_web.studies import services
from hytnas_web.studies.forms.components import (
    ComponentSection,
    CustomSpaceForm,
    component_section,
    option_prefix,
)
from hytnas_web.studies.forms.constraints import ConstraintFormSet
from hytnas_web.studies.forms.fields import WarmStartField, field_of
from hytnas_web.studies.forms.initial import StudyFormInitial
from hytnas_web.studies.forms.places import Place, locate, row_places
from hytnas_web.studies.forms.rows import ObjectiveFormSet, TableFormSet
from hytnas_web.studies.models import ComponentKind, Preset, Study
from hytnas_web.studies.services import form_support
from hytnas_web.studies.services.feasibility import KNOWN_QUANTITIES
from hytnas_web.studies.services.form_support import SPACE_KINDS, default_component_key
from hytnas_web.studies.services.kept_tables import KeptTable
from hytnas_web.studies.services.scheduling import dispatch_of
from search_engine.finite_numbers import (
    parse_finite,  # plain parsing; the engine's computing stays in services
)

SIZE_LIMITS = {
    "n_init": 100_000,
    "batch_size": 100_000,
    "budget": 1_000_000,
    "patience": 100_000,
    "in_flight": 100_000,
}
"""Upper bounds the database columns and a sane study can hold (the engine checks the lower ones)."""

SIZES = ("n_init", "batch_size", "budget", "seed", "patience", "in_flight")
"""The study's sizes, each a main-form field named as its configuration key."""

EVALUATOR_PARAMS_OF_THE_PAGE = ("tables", "objectives", "space", "objective_models")
"""Evaluator parameters no sub-form draws: the page's own inputs give them (uploads, objective rows,
space choice, and each objective row's regressor for a table study)."""

COMPONENT_SECTIONS = [(kind.value, str(kind.label)) for kind in ComponentKind] + [
    ("pending", "Points in flight")
]
"""Component choices of the form, each with its parameter sub-form: the optimizer's, then how points
still in flight condition a proposal (it matters only with architectures in flight)."""

TABLES_PATH = ("evaluator", "params", "tables")
"""Where the uploaded tables go in the configuration."""

OBJECTIVE_MODELS_PATH = ("evaluator", "params", "objective_models")
"""Where the objective rows' regressor choices go in the configuration (keyed by objective name)."""


def table_regressors(catalogue: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The table evaluator's declared regressors (its ``model`` parameter's choices), for objective rows."""
    table = next((entry for entry in catalogue["evaluator"] if entry["key"] == "table"), None)
    model = next((p for p in table["params"] if p["name"] == "model"), None) if table else None
    return [str(choice) for choice in model["choices"]] if model else []


class StudyMainForm(forms.Form):
    """The study's own inputs and the choice of each component; each field named as its config key."""

    name = forms.CharField(max_length=200)
    preset = forms.ModelChoiceField(queryset=Preset.objects.none(), required=False, widget=forms.HiddenInput)
    tables_from = forms.ModelChoiceField(
        queryset=Study.objects.none(), required=False, widget=forms.HiddenInput
    )
    space = forms.ChoiceField(
        choices=list(SPACE_KINDS.items()), initial="benchmark", widget=forms.RadioSelect
    )
    evaluator = forms.ChoiceField(initial="benchmark", widget=forms.RadioSelect)
    ref_point = forms.CharField(
        required=False,
        max_length=1000,
        label="Reference point",
        help_text=(
            "One number per objective, comma-separated, in the objectives' own units (e.g. 75, 3500). "
            "Blank: derived from the initial design."
        ),
    )
    auto = forms.BooleanField(
        required=False,
        label="Let the optimizer choose its components (recommended)",
        help_text=(
            "At every proposal the optimizer chooses its surrogate, acquisition, solver and how the "
            "batch is split from the space, the objectives, the data so far and its progress, and the "
            "study page says what it chose and why. The surrogate, acquisition, solver and selection "
            "chosen below are then not used; the sampler, initial sample and batch size are."
        ),
    )
    n_init = forms.IntegerField(max_value=SIZE_LIMITS["n_init"], label="Initial sample size")
    batch_size = forms.IntegerField(max_value=SIZE_LIMITS["batch_size"], label="Batch size")
    budget = forms.IntegerField(
        max_value=SIZE_LIMITS["budget"], label="Evaluation budget", help_text="Initial design included."
    )
    seed = forms.IntegerField(initial=0, max_value=2**31 - 1)
    patience = forms.IntegerField(
        required=False,
        max_value=SIZE_LIMITS["patience"],
        help_text="Stop after this many iterations without hypervolume gain (blank: never).",
    )
    in_flight = forms.IntegerField(
        required=False,
        max_value=SIZE_LIMITS["in_flight"],
        label="Architectures in flight",
        help_text=(
            "Blank: synchronous batches (propose a batch, wait for all of it). N: keep N architectures "
            "in flight: whenever a result arrives and fewer than N are being measured, new ones are "
            "proposed at once, conditioned on those still in flight (see 'Points in flight'). For "
            "evaluators measured outside the iteration job: torch, remote and your own evaluation."
        ),
    )
    warm_start_from = WarmStartField(
        queryset=Study.objects.none(),
        required=False,
        label="Start from the measurements of",
        empty_label="none: sample the whole initial design",
        help_text=(
            "One of your studies with the same search space that measured these objectives (same "
            "names, directions and units). Its successful measurements are copied in as the initial "
            "design: only what is missing up to the initial sample size is sampled, and the copies "
            "count towards the budget, as imported ones do."
        ),
    )

    def __init__(
        self,
        *args: Any,
        catalogue: dict[str, list[dict[str, Any]]],
        owner: User,
        presets: list[Preset],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field_of(self, "preset", forms.ModelChoiceField).queryset = Preset.objects.filter(
            pk__in=[p.pk for p in presets]
        )
        field_of(self, "tables_from", forms.ModelChoiceField).queryset = Study.objects.filter(owner=owner)
        field_of(self, "warm_start_from", WarmStartField).queryset = services.warm_start_candidates(owner)
        field_of(self, "evaluator", forms.ChoiceField).choices = [
            (e["key"], e["label"]) for e in catalogue["evaluator"]
        ]
        for kind, label in COMPONENT_SECTIONS:
            self.fields[kind] = forms.ChoiceField(
                choices=[(e["key"], e["label"]) for e in catalogue[kind]],
                label=label,
                initial=default_component_key(kind),  # a preset saved before the kind existed
            )

    def chosen(self, name: str) -> str | None:
        """The choice ``name`` (space, evaluator or a component kind) holds, as posted once bound."""
        if self.is_bound:
            value = self.data.get(name)
        else:
            field = field_of(self, name, forms.ChoiceField)
            # Every choice field here is given a list of (value, label) pairs.
            first = cast(list[tuple[str, str]], field.choices)[0][0]
            value = self.initial.get(name) or field.initial or first
        return value if isinstance(value, str) else None

    def clean_ref_point(self) -> list[float] | None:
        text = self.cleaned_data.get("ref_point", "").strip()
        if not text:
            return None
        values = []
        for part in text.split(","):
            if not part.strip():
                raise ValidationError("expected a number between each pair of commas")
            try:
                values.append(parse_finite(part))
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
        return values


class StudyForm:
    """Everything a study needs, as Django forms; see the module docstring for how errors find their field."""

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        catalogue: dict[str, list[dict[str, Any]]],
        owner: User,
        presets: list[Preset],
        initial: StudyFormInitial | None = None,
        kept: Mapping[int, KeptTable] | None = None,
    ) -> None:
        """``kept``: the tables kept from this form's previous post, by upload slot (0-based)."""
        initial = initial or StudyFormInitial()
        self.is_bound = data is not None
        self.main = StudyMainForm(
            data, files, catalogue=catalogue, owner=owner, presets=presets, initial=initial.main
        )
        custom = option_prefix("space", "custom")
        self.custom_space = CustomSpaceForm(
            data,
            prefix=custom,
            initial=initial.params.get(custom),
            chosen=self.main.chosen("space") == "custom",
        )
        self.evaluator_section = self._section(
            "evaluator", "Evaluator", catalogue, initial, left_out=EVALUATOR_PARAMS_OF_THE_PAGE
        )
        self.component_sections = [
            self._section(kind, label, catalogue, initial) for kind, label in COMPONENT_SECTIONS
        ]
        self.objectives = ObjectiveFormSet(
            data,
            prefix="objectives",
            initial=initial.objectives,
            form_kwargs={"regressors": table_regressors(catalogue)},
        )
        self.tables = TableFormSet(
            data, files, prefix="tables", form_kwargs={"chosen": self.uses_tables, "kept": kept}
        )
        self.constraints = ConstraintFormSet(data, prefix="constraints", initial=initial.constraints)
        self.known_quantities = KNOWN_QUANTITIES
        self.config: Any = None
        self._parsed: tuple[dict[str, Any], list[dict[str, Any]], list[Place]] | None = None

    def _section(
        self,
        kind: str,
        label: str,
        catalogue: dict[str, list[dict[str, Any]]],
        initial: StudyFormInitial,
        left_out: Collection[str] = (),
    ) -> ComponentSection:
        return component_section(
            kind,
            label,
            catalogue[kind],
            self.main[kind],
            self.main.chosen(kind),
            data=self.main.data if self.is_bound else None,
            initial=initial.params,
            left_out=left_out,
        )

    @property
    def uses_tables(self) -> bool:
        """Whether the uploads count: only a table-evaluator study reads them."""
        return self.main.chosen("evaluator") == "table"

    # --- validation ---

    def is_valid(self) -> bool:
        """Every part valid and, from their values, a configuration the engine accepts (``config``)."""
        if not self.is_bound:
            return False
        if self.config is not None:
            return True
        parts = [form.is_valid() for form in self._forms()] + [f.is_valid() for f in self._formsets()]
        values, tables, places = self._parsed = self._values()
        if not all(parts):
            self._add_part_problems(values, tables, places)
            return False
        try:
            self.config = services.config_from_form(values, tables)
        except services.ConfigError as exc:
            located = locate(places, exc.field)
            if located is None:
                self.main.add_error(None, f"{exc.field}: {exc.message}")
            else:
                form, field = located
                form.add_error(field, exc.message)
            self._add_part_problems(values, tables, places)  # the other tables' errors, say
            return False
        return self._in_flight_fits() and self._warm_start_fits()

    def _add_part_problems(
        self, values: dict[str, Any], tables: list[dict[str, Any]], places: list[Place]
    ) -> None:
        """The engine's errors in the parts that could be read, each at its input, beside the form's own.

        An input showing an error already keeps only that one (the engine saw a default in its
        place), and an error with no input of its own waits for the whole configuration's check.
        """
        for problem in form_support.config_problems(values, tables):
            located = locate(places, problem.field)
            if located is not None and located[1] not in located[0].errors:
                located[0].add_error(located[1], problem.message)

    def uploaded_tables_evaluator(self) -> dict[str, Any] | None:
        """The table evaluator the posted tables and objectives make (None: not a table study, or they
        do not make one yet), for showing how well the tables predict before the study exists."""
        if not self.is_bound or not self.uses_tables or self._parsed is None:
            return None
        values, tables, _ = self._parsed  # as parsed, before errors took values out of cleaned_data
        return form_support.form_table_evaluator(values, tables)

    def _in_flight_fits(self) -> bool:
        """In flight needs an evaluator measured outside the iteration job (else a field error)."""
        if self.config.in_flight is None or dispatch_of(self.config.to_dict()) != "inline":
            return True
        self.main.add_error(
            "in_flight",
            f"the {self.config.evaluator.name} evaluator measures each batch inside the iteration job, so "
            "nothing is ever in flight: leave this blank for synchronous batches, or choose an evaluator "
            "measured elsewhere (torch, remote, your own evaluation)",
        )
        self.config = None
        return False

    def _warm_start_fits(self) -> bool:
        """The study to warm-start from measured this study's space and objectives (else a field error)."""
        source = self.main.cleaned_data.get("warm_start_from")
        problem = services.warm_start_problem(source, self.config) if source is not None else None
        if problem is not None:
            self.main.add_error("warm_start_from", f"{problem}.")
            self.config = None
            return False
        return True

    def _values(self) -> tuple[dict[str, Any], list[dict[str, Any]], list[Place]]:
        """The values ``services.config_from_form`` takes, the tables, and where each value came from."""
        data = self.main.cleaned_data
        places = [Place((), self.main)]
        values: dict[str, Any] = {
            "space": data.get("space"),
            "space_spec": None,
            "ref_point": data.get("ref_point"),
            "auto": bool(data.get("auto")),
            **{name: data.get(name) for name in SIZES},
        }
        if self.custom_space.chosen:
            # The JSON is the whole space specification: every error about the space is about it.
            values["space_spec"] = self.custom_space.cleaned_data.get("spec")
            places.append(Place(("space",), self.custom_space, catch_all="spec"))
        for section in [self.evaluator_section, *self.component_sections]:
            option = section.chosen  # None for a key the main form refused
            values[section.kind] = (
                None if option is None else {"name": option.key, "params": option.form.params()}
            )
            if option is not None:
                places.append(Place((section.kind, "params"), option.form))
        named = [
            (row, objective)
            for row in self.objectives
            if not row.errors and (objective := row.objective()) is not None
        ]
        values["objectives"] = [objective for _, objective in named]
        places += row_places(("objectives",), [row for row, _ in named], "name", self.objectives)
        if self.uses_tables:
            models = {objective["name"]: model for row, objective in named if (model := row.chosen_model())}
            values["objective_models"] = models or None
            places += [Place((*OBJECTIVE_MODELS_PATH, o["name"]), row, "model") for row, o in named]
        bounded = [
            (row, bound)
            for row in self.constraints
            if not row.errors and (bound := row.constraint()) is not None
        ]
        values["constraints"] = [bound for _, bound in bounded]
        places += row_places(("constraints",), [row for row, _ in bounded], "value", self.constraints)
        tables, table_rows = self._tables()
        places += row_places(TABLES_PATH, table_rows, "file", self.tables)
        return values, tables, places

    def _tables(self) -> tuple[list[dict[str, Any]], list[forms.Form | None]]:
        """The uploaded tables and the rows they came from; else those of the study cloned (no rows)."""
        if not self.uses_tables:
            return [], []
        uploaded = [(row, table) for row in self.tables if (table := row.table()) is not None]
        if uploaded:
            return [table for _, table in uploaded], [row for row, _ in uploaded]
        reused = self.main.cleaned_data.get("tables_from")
        tables = services.study_tables(reused) if reused is not None else []
        return tables, [None] * len(tables)

    # --- tables kept for the next post ---

    def tables_to_keep(self) -> dict[int, KeptTable | None]:
        """Each upload slot's table for the form's next post, None to drop it; only for a table study."""
        if not self.uses_tables:
            return {}
        return {row.number - 1: row.to_keep() for row in self.tables}

    def show_kept(self, kept: Mapping[int, KeptTable]) -> None:
        """Show ``kept`` (by slot) as the tables this form holds when it is shown again."""
        for row in self.tables:
            row.kept = kept.get(row.number - 1)

    # --- what templates and tests read ---

    def _forms(self) -> Iterator[forms.Form]:
        """Every form of the page but the formsets' management forms, in page order."""
        yield self.main
        yield self.custom_space
        for section in [self.evaluator_section, *self.component_sections]:
            for option in section.options:
                yield option.form
        yield from self.objectives
        yield from self.constraints
        yield from self.tables

    def _formsets(self) -> list[forms.BaseFormSet[Any]]:
        """The formsets that count: the tables' only for a table-evaluator study."""
        return [self.objectives, self.constraints, *([self.tables] if self.uses_tables else [])]

    def bound_fields(self) -> Iterator[forms.BoundField]:
        """Every input of the page, the formsets' management inputs included."""
        managed = [self.objectives, self.constraints, self.tables]
        for form in [*self._forms(), *(formset.management_form for formset in managed)]:
            yield from form

    def __getitem__(self, name: str) -> forms.BoundField:
        """The input posted as ``name``: ``budget``, ``surrogate-xgboost-max_depth``, ``tables-0-file``."""
        for field in self.bound_fields():
            if field.html_name == name:
                return field
        raise KeyError(name)

    @property
    def errors(self) -> dict[str, ErrorList]:
        """Every error by the input it is shown at; ``__all__`` and a formset's prefix: above the form."""
        errors: dict[str, ErrorList] = {}
        for form in self._forms():
            for name, messages in form.errors.items():
                key = name if name == NON_FIELD_ERRORS else form.add_prefix(name)
                errors.setdefault(key, ErrorList()).extend(messages)
        for formset in self._formsets():
            if formset.non_form_errors():
                errors[str(formset.prefix)] = formset.non_form_errors()
        return errors

    def summary_errors(self) -> list[str]:
        """Errors with no input of their own on the page: above the form, hidden inputs, formsets."""
        summary = [str(e) for e in self.main.non_field_errors()]
        summary += [
            f"{name}: {e}" for name in ("preset", "tables_from") for e in self.main.errors.get(name, [])
        ]
        for formset in self._formsets():
            summary += [str(e) for e in formset.non_form_errors()]
        return summary
