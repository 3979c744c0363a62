"""The study form, the save-as-preset form and the worker-token form.

The study form only parses what the browser sent (numbers, JSON, uploads); whether the values make
a valid study is decided by ``services.config_from_form``. Its ConfigError names a dotted path such
as ``surrogate.params.max_depth``, which ``StudyForm`` maps back to the input it came from, so every
message appears next to the field a user has to change. Component parameters are drawn from the
registry's schemas: every component's inputs are in the page, and only the selected one's are read.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from hytnas_web.studies import services
from hytnas_web.studies.models import ComponentKind, Preset, Study
from hytnas_web.studies.services import json_input

OBJECTIVE_ROWS = 5
"""Objective rows in the form: the most objectives a benchmark problem reports."""

TABLE_SLOTS = 5
"""Upload slots for measured tables: one per objective at most."""

SIZE_LIMITS = {"n_init": 100_000, "batch_size": 100_000, "budget": 1_000_000, "patience": 100_000}
"""Upper bounds the database columns and a sane study can hold (the engine checks the lower ones)."""

MAX_JSON_FIELD_BYTES = 256 * 1024
"""Largest JSON typed into one field (a custom space of hundreds of variables fits)."""

SPACE_CHOICES = [
    ("benchmark", "The benchmark problem's own space (continuous, x0 … xn in [0, 1])"),
    ("hytnas", "HyT-NAS hybrid conv/attention space (23 variables)"),
    ("custom", "Custom space (JSON)"),
]

_PATH_HEAD = re.compile(r"^(?P<name>[A-Za-z_]+)(?:\[(?P<index>\d+)\])?$")


def param_field_name(kind: str, key: str, param: str) -> str:
    """Form field of one component parameter, e.g. ``surrogate__xgboost__max_depth``."""
    return f"{kind}__{key}__{param}"


class JSONTextField(forms.JSONField):
    """JSON typed into a textarea: malformed, non-finite or absurdly nested input is a field error."""

    default_error_messages: ClassVar[dict[str, str]] = {"invalid": "Enter valid JSON: %(reason)s"}

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            return value
        try:
            parsed = json_input.loads(value, max_bytes=MAX_JSON_FIELD_BYTES, what="it")
            _check_json(parsed)
        except json.JSONDecodeError as exc:
            raise ValidationError(self.error_messages["invalid"], params={"reason": exc.msg}) from None
        except ValueError as exc:  # a limit (size, nesting), NaN or a NUL character
            raise ValidationError(self.error_messages["invalid"], params={"reason": str(exc)}) from None
        return parsed

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data  # redisplay exactly what was typed

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=None)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return True


def _check_json(value: Any) -> None:
    """Refuse values a database's JSON column would reject or mangle (NaN, NUL characters).

    Recursion is safe here: ``json_input.loads`` has already refused anything nested deeper than
    ``json_input.MAX_DEPTH``.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and not _finite(value):
        raise ValueError("numbers must be finite")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(key)
            _check_json(item)
    elif isinstance(value, list):
        for item in value:
            _check_json(item)


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer too large for a float
        return False


def _param_field(param: dict[str, Any]) -> forms.Field:
    """An input for one schema parameter: right type, default, bounds as min/max, help text."""
    kind, default, help_text = param["kind"], param["default"], param["help"]
    label = param["name"]  # the engine's own name, as error paths and presets spell it
    if kind in ("int", "float"):
        attrs = {"step": "1" if kind == "int" else "any"}
        if param["low"] is not None:
            attrs["min"] = _plain_number(param["low"])
        if param["high"] is not None:
            attrs["max"] = _plain_number(param["high"])
        field_class = forms.IntegerField if kind == "int" else forms.FloatField
        return field_class(
            required=False, initial=default, label=label, help_text=help_text, widget=forms.NumberInput(attrs)
        )
    if kind == "bool":
        return forms.BooleanField(required=False, initial=default, label=label, help_text=help_text)
    if kind == "choice":
        by_text = {str(c): c for c in param["choices"]}
        choices = [(text, text) for text in by_text]
        if param["optional"]:
            choices.insert(0, ("", "—"))
        return forms.TypedChoiceField(
            choices=choices,
            coerce=by_text.__getitem__,
            empty_value=None,
            required=False,
            initial=None if default is None else str(default),
            label=label,
            help_text=help_text,
        )
    if kind == "str":
        return forms.CharField(required=False, initial=default, label=label, help_text=help_text)
    return JSONTextField(
        required=False,
        initial=default,
        label=f"{label} (JSON)",
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )


def _plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class StudyForm(forms.Form):
    """Everything a study needs; see the module docstring for how errors find their field."""

    name = forms.CharField(max_length=200)
    preset = forms.ModelChoiceField(queryset=Preset.objects.none(), required=False, widget=forms.HiddenInput)
    tables_from = forms.ModelChoiceField(
        queryset=Study.objects.none(), required=False, widget=forms.HiddenInput
    )
    space = forms.ChoiceField(choices=SPACE_CHOICES, initial="benchmark", widget=forms.RadioSelect)
    space_spec = JSONTextField(
        required=False,
        label="Custom space (JSON)",
        help_text=(
            'A list of variables, e.g. [{"name": "width", "type": "int", "low": 8, "high": 64}, '
            '{"name": "act", "type": "choice", "choices": ["relu", "gelu"]}]; types: int, float, '
            "log-float, choice."
        ),
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
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

    def __init__(
        self,
        *args: Any,
        catalogue: dict[str, list[dict[str, Any]]],
        owner: AbstractBaseUser,
        presets: list[Preset],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        self.config: Any = None
        self._table_slots: list[int | None] = []
        self._objective_rows: list[int] = []
        self.fields["preset"].queryset = Preset.objects.filter(pk__in=[p.pk for p in presets])
        self.fields["tables_from"].queryset = Study.objects.filter(owner=owner)
        self.fields["evaluator"].choices = [(e["key"], e["label"]) for e in catalogue["evaluator"]]
        # An evaluator's JSON parameters (tables, objectives, space) come from their own inputs.
        self._add_param_fields("evaluator", with_json=False)
        for kind in ComponentKind:
            self.fields[kind.value] = forms.ChoiceField(
                choices=[(e["key"], e["label"]) for e in catalogue[kind.value]], label=kind.label
            )
            self._add_param_fields(kind.value, with_json=True)
        for i in range(OBJECTIVE_ROWS):
            self.fields[f"objective_{i}_name"] = forms.CharField(
                required=False, max_length=60, label=f"objective {i + 1} name", widget=_labelled(i, "name")
            )
            self.fields[f"objective_{i}_direction"] = forms.ChoiceField(
                choices=[("min", "minimise"), ("max", "maximise")],
                initial="min",
                label=f"objective {i + 1} direction",
                widget=forms.Select(attrs={"aria-label": f"objective {i + 1} direction"}),
            )
            self.fields[f"objective_{i}_unit"] = forms.CharField(
                required=False, max_length=20, label=f"objective {i + 1} unit", widget=_labelled(i, "unit")
            )
        for i in range(TABLE_SLOTS):
            self.fields[f"table_{i}_file"] = forms.FileField(required=False, label=f"Table {i + 1} (CSV)")
            self.fields[f"table_{i}_objectives"] = forms.CharField(
                required=False,
                max_length=300,
                label="objectives it measures",
                help_text="Comma-separated names; blank: the objective columns its header names.",
            )
        if self.is_bound:
            self._relax_unselected()

    def _add_param_fields(self, kind: str, with_json: bool) -> None:
        for entry in self.catalogue[kind]:
            for param in entry["params"]:
                if with_json or param["kind"] != "json":
                    self.fields[param_field_name(kind, entry["key"], param["name"])] = _param_field(param)

    # --- which parameter inputs count ---

    def _selected(self, kind: str) -> str | None:
        """The component key chosen for ``kind`` (from the submitted data once bound)."""
        if self.is_bound:
            value = self.data.get(kind)
        else:
            value = self.initial.get(kind) or self.fields[kind].initial or self.catalogue[kind][0]["key"]
        return value if isinstance(value, str) else None

    def _relax_unselected(self) -> None:
        """Inputs of components that are not selected are kept for redisplay but never validated."""
        for kind in ["evaluator", *(k.value for k in ComponentKind)]:
            selected = self._selected(kind)
            for entry in self.catalogue[kind]:
                if entry["key"] == selected:
                    continue
                for param in entry["params"]:
                    name = param_field_name(kind, entry["key"], param["name"])
                    if name in self.fields:
                        field = self.fields[name]
                        self.fields[name] = forms.CharField(
                            required=False, label=field.label, help_text=field.help_text, widget=field.widget
                        )

    # --- cleaning ---

    def clean_ref_point(self) -> list[float] | None:
        text = self.cleaned_data.get("ref_point", "").strip()
        if not text:
            return None
        values = []
        for part in text.split(","):
            part = part.strip()
            try:
                value = float(part)
            except ValueError:
                raise ValidationError(f"{part!r} is not a number") from None
            if not math.isfinite(value):
                raise ValidationError(f"{part!r} is not a finite number")
            values.append(value)
        return values

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned  # the engine would only report the same values again
        tables = self._uploaded_tables()
        if self.errors:
            return cleaned
        try:
            self.config = services.config_from_form(self._config_values(), tables)
        except services.ConfigError as exc:
            field = self._field_for(exc.field)
            self.add_error(field, exc.message if field is not None else f"{exc.field}: {exc.message}")
        return cleaned

    def _config_values(self) -> dict[str, Any]:
        """The neutral dict ``services.config_from_form`` takes."""
        data = self.cleaned_data
        evaluator = data["evaluator"]
        values: dict[str, Any] = {
            "space": data["space"],
            "space_spec": data.get("space_spec"),
            "evaluator": {"name": evaluator, "params": self._params("evaluator", evaluator)},
            "objectives": [],
            "ref_point": data.get("ref_point"),
            **{name: data.get(name) for name in ("n_init", "batch_size", "budget", "seed", "patience")},
        }
        for kind in ComponentKind:
            key = data[kind.value]
            values[kind.value] = {"name": key, "params": self._params(kind.value, key)}
        for i in range(OBJECTIVE_ROWS):
            name = data.get(f"objective_{i}_name", "").strip()
            if name:
                self._objective_rows.append(i)
                direction, unit = data[f"objective_{i}_direction"], data[f"objective_{i}_unit"]
                values["objectives"].append({"name": name, "direction": direction, "unit": unit})
        return values

    def _params(self, kind: str, key: str) -> dict[str, Any]:
        entry = next(e for e in self.catalogue[kind] if e["key"] == key)
        params = {}
        for param in entry["params"]:
            name = param_field_name(kind, key, param["name"])
            if name in self.fields:
                params[param["name"]] = self.cleaned_data.get(name)
        return params

    def _uploaded_tables(self) -> list[dict[str, Any]]:
        """The CSV text of each upload (a table study only), size and encoding checked here."""
        if self.cleaned_data.get("evaluator") != "table":
            return []
        tables = []
        for i in range(TABLE_SLOTS):
            upload: UploadedFile | None = self.cleaned_data.get(f"table_{i}_file")
            text = self._read_upload(f"table_{i}_file", upload) if upload else None
            if text is None:
                continue
            names = self.cleaned_data.get(f"table_{i}_objectives", "").split(",")
            wanted = [n.strip() for n in names if n.strip()] or None
            name = (upload.name or "").replace("\x00", "") or f"table {i + 1}"
            tables.append({"name": name, "text": text, "objectives": wanted})
            self._table_slots.append(i)
        reused = self.cleaned_data.get("tables_from")
        if not tables and reused is not None:
            tables = services.study_tables(reused)
            self._table_slots = [None] * len(tables)
        return tables

    def _read_upload(self, field: str, upload: UploadedFile) -> str | None:
        """The upload's text, or None with an error on ``field`` (too large, not UTF-8 text)."""
        limit = settings.MAX_TABLE_UPLOAD_BYTES
        if upload.size is not None and upload.size > limit:
            message = f"{upload.name} is {_size(upload.size)}; the largest table accepted is {_size(limit)}."
            self.add_error(field, message)
            return None
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.add_error(field, f"{upload.name} is not UTF-8 text (byte {exc.start + 1}).")
            return None
        if "\x00" in text:
            self.add_error(field, f"{upload.name} contains NUL characters; upload a CSV text file.")
            return None
        return text

    # --- where an engine error belongs ---

    def _field_for(self, path: str) -> str | None:
        """The form field a ConfigError path points at, or None (a non-field error)."""
        head, _, rest = path.partition(".")
        match = _PATH_HEAD.match(head)
        if match is None:
            return None
        name, index = match["name"], match["index"]
        if name in ("ref_point", "n_init", "batch_size", "budget", "seed", "patience"):
            return name
        if name == "space":
            return "space_spec" if self.cleaned_data.get("space") == "custom" else "space"
        if name == "objectives":
            return self._objective_field(index, rest)
        if name == "evaluator":
            return self._evaluator_field(rest)
        if name in ComponentKind.values:
            return self._param_field_for(name, rest)
        return None

    def _objective_field(self, index: str | None, rest: str) -> str:
        row = 0
        if index is not None and int(index) < len(self._objective_rows):
            row = self._objective_rows[int(index)]
        attribute = rest if rest in ("direction", "unit") else "name"
        return f"objective_{row}_{attribute}"

    def _evaluator_field(self, rest: str) -> str | None:
        if not rest.startswith("params."):
            return "evaluator"
        param = rest.removeprefix("params.")
        head, _, tail = param.partition(".")
        match = _PATH_HEAD.match(head)
        if match is not None and match["name"] == "tables":
            index = int(match["index"] or 0)
            slot = self._table_slots[index] if index < len(self._table_slots) else 0
            if slot is None:
                return None  # a table reused from the cloned study: no upload input to point at
            return f"table_{slot}_objectives" if tail == "objectives" else f"table_{slot}_file"
        return self._param_field_for("evaluator", rest)

    def _param_field_for(self, kind: str, rest: str) -> str | None:
        if rest in ("", "name"):
            return kind
        if not rest.startswith("params."):
            return None
        param = re.split(r"[.\[]", rest.removeprefix("params."), maxsplit=1)[0]
        name = param_field_name(kind, str(self.cleaned_data.get(kind)), param)
        return name if name in self.fields else None

    # --- what the template draws ---

    def component_sections(self) -> list[dict[str, Any]]:
        """Per component kind: its select and, per registry entry, that entry's parameter inputs."""
        return [self._section(kind.value, kind.label) for kind in ComponentKind]

    def evaluator_section(self) -> dict[str, Any]:
        """The evaluator's select and each evaluator's own parameter inputs."""
        return self._section("evaluator", "Evaluator")

    def _section(self, kind: str, label: str) -> dict[str, Any]:
        selected = self._selected(kind)
        options = []
        for entry in self.catalogue[kind]:
            names = [param_field_name(kind, entry["key"], p["name"]) for p in entry["params"]]
            flags = {flag: on for flag, on in entry["capabilities"].items() if isinstance(on, bool)}
            options.append(
                {
                    "key": entry["key"],
                    "label": entry["label"],
                    "capabilities": flags,
                    "runs": entry.get("runs", ""),
                    "fields": [self[n] for n in names if n in self.fields],
                    "selected": entry["key"] == selected,
                }
            )
        return {"kind": kind, "label": label, "select": self[kind], "options": options}

    def objective_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        """(name, direction, unit) inputs of each objective row."""
        return [
            (self[f"objective_{i}_name"], self[f"objective_{i}_direction"], self[f"objective_{i}_unit"])
            for i in range(OBJECTIVE_ROWS)
        ]

    def table_slots(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """(file, objectives) inputs of each upload slot."""
        return [(self[f"table_{i}_file"], self[f"table_{i}_objectives"]) for i in range(TABLE_SLOTS)]

    def hidden_errors(self) -> list[str]:
        """Errors of hidden inputs, which have no place of their own on the page."""
        return [f"{name}: {e}" for name in ("preset", "tables_from") for e in self.errors.get(name, [])]


def _labelled(row: int, what: str) -> forms.TextInput:
    """A text input of the objectives table, where the column header is the only visible label."""
    return forms.TextInput(attrs={"aria-label": f"objective {row + 1} {what}"})


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1024 / 1024:.1f} MB" if n_bytes >= 1024 * 1024 else f"{n_bytes / 1024:.0f} KB"


def initial_values(
    config: dict[str, Any] | None = None,
    components: dict[str, dict[str, Any]] | None = None,
    sizes: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Initial form values from an engine config dict (a cloned study) and/or a preset's components.

    Args:
        config: ``StudyConfig.to_dict()`` of a study to start from; fills every input.
        components: ``{kind: {"name", "params"}}`` of a preset; overrides the config's components.
        sizes: ``n_init`` / ``batch_size`` of a preset.
    """
    initial: dict[str, Any] = {}
    if config is not None:
        initial.update(_problem_initial(config))
        components = {**{kind.value: config[kind.value] for kind in ComponentKind}, **(components or {})}
        initial.update({k: config[k] for k in ("n_init", "batch_size", "budget", "seed", "patience")})
    for kind, spec in (components or {}).items():
        initial[kind] = spec["name"]
        for param, value in (spec.get("params") or {}).items():
            initial[param_field_name(kind, spec["name"], param)] = _initial_param(value)
    initial.update(sizes or {})
    if config is None and sizes:
        initial.setdefault("budget", 3 * sizes.get("n_init", 100))
    return initial


def _problem_initial(config: dict[str, Any]) -> dict[str, Any]:
    """Space, evaluator, objectives and reference point inputs of a config dict."""
    evaluator = config["evaluator"]
    initial: dict[str, Any] = {"evaluator": evaluator["name"]}
    for param, value in (evaluator.get("params") or {}).items():
        if param not in ("tables", "objectives", "space"):
            initial[param_field_name("evaluator", evaluator["name"], param)] = _initial_param(value)
    space = config["space"]
    if evaluator["name"] == "benchmark":
        initial["space"] = "benchmark"
    elif space["name"] == "hytnas":
        initial["space"] = "hytnas"
    else:
        initial["space"] = "custom"
        initial["space_spec"] = json.dumps(space["params"].get("variables", space["params"]), indent=1)
    for i, objective in enumerate(config["objectives"][:OBJECTIVE_ROWS]):
        initial[f"objective_{i}_name"] = objective["name"]
        initial[f"objective_{i}_direction"] = objective["direction"]
        initial[f"objective_{i}_unit"] = objective.get("unit", "")
    if config.get("ref_point") is not None:
        initial["ref_point"] = ", ".join(f"{v:g}" for v in config["ref_point"])
    return initial


def _initial_param(value: Any) -> Any:
    """Choice inputs hold text; numbers and JSON keep their type."""
    return value if isinstance(value, int | float | list | dict | bool) or value is None else str(value)


def default_initial(preset: Preset | None) -> dict[str, Any]:
    """A new study's inputs: ZDT1 with its f1, f2 and the preset's components and sizes."""
    initial: dict[str, Any] = {"space": "benchmark", "evaluator": "benchmark", "seed": 0}
    for i, objective in enumerate(services.default_objectives("benchmark")):
        initial[f"objective_{i}_name"] = objective["name"]
        initial[f"objective_{i}_direction"] = objective["direction"]
    if preset is not None:
        initial.update(
            initial_values(
                components=services.preset_components(preset),
                sizes={"n_init": preset.n_init, "batch_size": preset.batch_size},
            )
        )
        initial["preset"] = preset.pk
    return initial


class SavePresetForm(forms.Form):
    """Name and key of a preset saved from a study's components and sizes."""

    label = forms.CharField(max_length=120, label="Preset name")
    key = forms.SlugField(max_length=60, help_text="Short identifier: letters, digits, - and _.")
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class WorkerTokenForm(forms.Form):
    """A new worker token: what the worker is called and which of the owner's studies it may serve.

    The scope offers only the owner's studies; a posted id of anyone else's study is refused as an
    invalid choice, so a token can never reach work its owner could not see.
    """

    name = forms.CharField(
        max_length=120,
        help_text="What the worker is, e.g. “Raspberry Pi 5, lab bench”: it tells your tokens apart.",
    )
    study = forms.ModelChoiceField(
        queryset=Study.objects.none(),
        required=False,
        empty_label="any of my studies",
        label="Scope",
        help_text="A token for one study takes only that study's work; otherwise it serves all of yours.",
        error_messages={"invalid_choice": "Choose one of your own studies, or any of them."},
    )

    def __init__(self, *args: Any, owner: AbstractBaseUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = Study.objects.filter(owner=owner).order_by("-updated_at")
