"""Where an engine error lands in the study form, read from its path alone.

A ``ConfigError`` names the bad value by its path in the configuration: ``budget``, ``ref_point[1]``,
``surrogate.params.max_depth``, ``objectives[1].name``, ``evaluator.params.tables[0]``. Each part of
the form states the path of the value it fills (a ``Place``): the main form fills the top level, a
component's sub-form ``<kind>.params``, the i-th objective row ``objectives[i]``. An error belongs to
the place with the longest path that begins its own; the next step of the path names a field of
that place's form, and an error that names none lands on the place's ``catch_all`` field, or, with
none, above the form with its path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django import forms

Path = tuple[str | int, ...]

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_steps(path: str) -> Path:
    """``evaluator.params.tables[0].objectives`` -> ``("evaluator", "params", "tables", 0, "objectives")``."""
    return tuple(int(index) if index else name for name, index in _STEP.findall(path))


@dataclass(frozen=True)
class Place:
    """A part of the form and the configuration path of the value it fills.

    ``form`` is None for a value no input holds (a table reused from a cloned study), whose errors
    are shown above the form. ``catch_all`` is the field that takes errors naming none of the
    form's fields (the name of an objective row, the text of a custom space).
    """

    path: Path
    form: forms.Form | None
    catch_all: str | None = None


def locate(places: Sequence[Place], path: str) -> tuple[forms.Form, str] | None:
    """The (form, field name) an error at ``path`` belongs to, or None for an error above the form."""
    steps = path_steps(path)
    owners = [place for place in places if steps[: len(place.path)] == place.path]
    if not owners:
        return None
    place = max(owners, key=lambda p: len(p.path))
    if place.form is None:
        return None
    rest = steps[len(place.path) :]
    if rest and isinstance(rest[0], str) and rest[0] in place.form.fields:
        return place.form, rest[0]
    if place.catch_all is not None:
        return place.form, place.catch_all
    return None


def row_places(
    path: Path,
    rows: Sequence[forms.Form | None],
    catch_all: str,
    formset: forms.BaseFormSet,  # type: ignore[type-arg]
) -> list[Place]:
    """Places of a list filled by formset rows: entry i by ``rows[i]``, the list as a whole by its first.

    With no entry at all, the list as a whole falls to the formset's first row, where one would be typed.
    """
    whole = rows[0] if rows else next(iter(formset.forms), None)
    return [Place(path, whole, catch_all), *(Place((*path, i), row, catch_all) for i, row in enumerate(rows))]
