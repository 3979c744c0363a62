"""Text for numbers and sizes, shared by services' messages, views' form errors and templates
(``|number``, ``|file_size``)."""

from __future__ import annotations

import math
from typing import Any

from django.template.defaultfilters import filesizeformat

DASH = "—"
"""What stands for a missing value."""

NBSP = "\xa0"
"""What keeps a number and its unit on one line in a page."""


def number(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits, whole numbers in full; a dash for missing values.

    The page and the live updates it receives (``services.dashboard``) write numbers the same way.
    """
    if value is None or isinstance(value, bool):
        return DASH
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(as_float):
        return str(as_float)
    if as_float.is_integer() and abs(as_float) < 1e15:
        return str(int(as_float))
    return f"{as_float:.{int(digits)}g}"


def file_size(n_bytes: int, *, joiner: str = " ") -> str:
    """``1.0 KB``, ``5.0 MB``: Django's file size in words.

    ``joiner`` sits between the number and the unit: a plain space in messages kept as text, a
    non-breaking space (``NBSP``) where a page lays the text out.
    """
    return str(filesizeformat(n_bytes)).replace(NBSP, joiner)


def exact_size(n_bytes: int) -> str:
    """``256 KiB``, ``100 bytes``: a limit stated exactly, as the API's refusals and README give it.

    ``file_size`` rounds (``1.0 KB``), which is right for a file someone uploaded and wrong for a
    limit a client has to stay under.
    """
    return f"{n_bytes // 1024} KiB" if n_bytes >= 1024 and n_bytes % 1024 == 0 else f"{n_bytes} bytes"
