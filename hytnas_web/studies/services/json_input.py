"""JSON sent by people and workers, parsed within documented limits of size and nesting.

Python's parser recurses once per level of ``[`` and ``{``, so a few kilobytes of brackets raise
RecursionError, deep inside whatever called it. The nesting is measured first instead, by a scan
that skips string contents and stops at the first level past the limit, so an over-deep value is
refused with a message naming the limit before the parser sees it. Every caller also bounds the
size, which bounds the parser's work. The limits are documented in README.md ("Input limits").
"""

from __future__ import annotations

import json
import re
from typing import Any

from hytnas_web.studies.formatting import exact_size

MAX_DEPTH = 32
"""Most levels of arrays and objects in any JSON input (a worker's report needs three)."""

_BRACKET_OR_QUOTE = re.compile(r'["\[\]{}]')
_REST_OF_STRING = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)  # possessive: linear on any input


class JSONLimitError(ValueError):
    """JSON refused for its size or nesting; the message names the limit."""


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """The deepest level of ``[``/``{`` in ``text``, ignoring brackets inside strings.

    Raises:
        JSONLimitError: at the first bracket deeper than ``limit`` (the rest is not read).
    """
    depth = deepest = 0
    position = 0
    while (found := _BRACKET_OR_QUOTE.search(text, position)) is not None:
        position = found.end()
        char = found.group()
        if char == '"':
            rest = _REST_OF_STRING.match(text, position)
            if rest is None:
                break  # an unterminated string: the parser reports where
            position = rest.end()
        elif char in "[{":
            depth += 1
            if depth > limit:
                raise JSONLimitError(f"nested deeper than {limit} levels of arrays and objects")
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH, what: str = "the JSON") -> Any:
    """``json.loads`` of ``data`` within the limits; NaN and Infinity refused (JSON has neither).

    Raises:
        JSONLimitError: ``data`` is larger than ``max_bytes`` (UTF-8) or nested deeper than ``max_depth``.
        ValueError: ``data`` is not valid JSON (or not UTF-8); the message says where.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JSONLimitError(f"{what} is larger than {exact_size(max_bytes)}, the largest accepted")
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        nesting_depth(text, max_depth)
    except JSONLimitError as exc:
        raise JSONLimitError(f"{what} is {exc}") from None
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")
