"""Finite numbers read one way everywhere: text a person typed, and values stored as JSON.

A CSV cell or a form's text input goes through ``parse_finite``, whose messages are ready to show
beside the input; a stored value (an objective, a latency, a timing) through ``finite_or_none``.
"""

from __future__ import annotations

import math
import numbers


def parse_finite(text: str) -> float:
    """The finite number ``text`` spells, surrounding spaces allowed.

    Raises:
        ValueError: ``empty cell, expected a number``, ``'abc' is not a number`` or ``'inf' is not
            a finite number`` (the text quoted as typed).
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


def finite_or_none(value: object) -> float | None:
    """A stored number (JSON or numpy) as a finite float; None for anything else.

    Missing values, text, booleans, NaN, infinities and integers too large for a float are None.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
