"""Text for sizes, shared by services' messages, views' form errors and templates (``|file_size``)."""

from __future__ import annotations

from django.template.defaultfilters import filesizeformat

NBSP = "\xa0"
"""What keeps a number and its unit on one line in a page."""


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
