"""Numbers typed by a person (a CSV cell, a form's text input) read one way everywhere."""

from __future__ import annotations

import math


def parse_finite(text: str) -> float:
    """The finite number ``text`` spells, surrounding spaces allowed.

    Raises:
        ValueError: ``empty cell, expected a number``, ``'abc' is not a number`` or ``'inf' is not
            a finite number`` (the text quoted as typed), ready to show beside the input.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty cell, expected a number")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value
