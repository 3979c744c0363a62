"""Rows of studies measured on devices, written directly: a remote HyT-NAS study and its evaluations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hytnas_web.studies.models import Evaluation, Study

PROXY = {"name": "accuracy_proxy", "direction": "max", "unit": "score"}
LATENCY = {"name": "latency", "direction": "min", "unit": "ms"}

PI = {
    "name": "Pi 5, lab bench",
    "hostname": "pi5",
    "system": "Linux",
    "release": "6.6.31+rpt-rpi-2712",
    "machine": "aarch64",
    "processor": "Cortex-A76",
    "cpu_count": 4,
    "memory_mb": 8063,
    "python": "3.11.2",
    "torch": "2.13.0",
}
PI_LABEL = "Pi 5, lab bench (Cortex-A76, 4 cores)"

LAPTOP = {"name": "laptop", "processor": "Intel(R) Core(TM) i7-1185G7", "cpu_count": 8, "python": "3.11.9"}
LAPTOP_LABEL = "laptop (Intel(R) Core(TM) i7-1185G7, 8 cores)"


def remote_study(
    make_study: Callable[..., Study], owner: Any, evaluator: str = "remote", **changes: Any
) -> Study:
    """A draft HyT-NAS study measured by ``evaluator`` (``remote`` or ``torch``)."""
    return make_study(
        owner,
        name=changes.pop("name", "Edge board search"),
        space={"name": "hytnas", "params": {}},
        evaluator={"name": evaluator, "params": {"task": "classification", "resolution": 64}},
        objectives=[PROXY, LATENCY],
        **changes,
    )


def add_row(study: Study, status: str = Evaluation.Status.DONE, **fields: Any) -> Evaluation:
    """One evaluation of ``study``; a done one gets objectives unless given."""
    n = Evaluation.objects.filter(study=study).count()
    if status == Evaluation.Status.DONE:
        fields.setdefault("objectives", [1500.0 + n, 20.0 + n])
    fields.setdefault("architecture", {"blocks_stage2": 1 + n % 4})
    return Evaluation.objects.create(
        study=study,
        key=f"arch-{n}",
        x=[0.5] * 23,
        source=Evaluation.Source.INITIAL,
        status=status,
        **fields,
    )
