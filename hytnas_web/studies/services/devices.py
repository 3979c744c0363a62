"""Which machine measured an evaluation, in words, and where a study's evaluations run.

A latency means nothing without the device that measured it, so tables name the device on one line
(``search_engine.devices.device_label``) and an architecture's page lists everything the worker
reported about it. Where the work runs follows the evaluator's ``dispatch`` capability: ``inline``
evaluators (formulas, fitted predictors) compute rather than measure, so their pages leave the
device out.
"""

from __future__ import annotations

import json
from typing import Any

from hytnas_web.studies.models import Study
from hytnas_web.studies.services.evaluations import study_dispatch
from search_engine.devices import device_label as _device_label

DEVICE_FIELDS = (
    ("name", "Name"),
    ("hostname", "Host name"),
    ("system", "Operating system"),
    ("release", "Release"),
    ("machine", "Machine"),
    ("processor", "Processor"),
    ("cpu_count", "CPU cores"),
    ("memory_mb", "Memory (MiB)"),
    ("python", "Python"),
    ("torch", "PyTorch"),
)
"""Keys of ``search_engine.devices.describe_device`` in the order people read them, with labels."""


def device_label(device: Any) -> str:
    """One line for a table cell ("name (processor, N cores)"); "" when no device was recorded."""
    return _device_label(device) if isinstance(device, dict) else ""


def device_details(device: Any) -> list[tuple[str, str]]:
    """Every recorded fact about a device as (label, text): the known keys first, then any others.

    A worker may report keys this server does not know (a newer worker, a board's own facts); they
    are shown by name rather than dropped, nested values as compact JSON.
    """
    if not isinstance(device, dict):
        return []
    labels = dict(DEVICE_FIELDS)
    known = [key for key, _ in DEVICE_FIELDS if key in device]
    others = sorted(key for key in device if key not in labels)
    return [(labels.get(key, key), _text(device[key])) for key in [*known, *others]]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def measures_on_device(study: Study) -> bool:
    """True when ``study``'s evaluator measures on a machine, so its tables show the device."""
    return study_dispatch(study) != "inline"
