"""Errors the engine raises for bad configuration and bad data, each naming what was wrong."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is invalid.

    ``field`` is the dotted path of the offending value as a user sees it in the study form,
    e.g. ``"surrogate.params.n_estimators"`` or ``"ref_point"``, so a form can show the message
    next to the right input.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DataError(ValueError):
    """Uploaded or measured data cannot be used (e.g. a malformed CSV).

    ``line`` and ``column`` locate the problem when it sits in one cell (1-based line numbers as an
    editor shows them; column is a header name or a 1-based index).
    """

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.line = line
        self.column = column
        self.message = message


class EncodeError(ValueError):
    """A space cannot encode an architecture: one variable's value is missing, unknown or out of range.

    ``variable`` names the variable, ``value`` is what the architecture gave for it (None when it gave
    nothing) and ``row`` is the architecture's position in the list passed to ``encode``, so callers
    (a CSV import, a measured table) point at the offending cell without reading the message.
    """

    def __init__(self, message: str, *, variable: str, value: object = None, row: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.variable = variable
        self.value = value
        self.row = row
