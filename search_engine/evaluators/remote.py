"""Remote evaluator: the torch measurement, made by a worker on the device that matters.

An edge board often cannot reach Redis or the database, only the web app. A study with this
evaluator keeps its pending architectures in the database; a worker started with
``python -m search_engine.worker --server URL --token T`` on the device claims them over the JSON
API, builds and times each network with the ``torch`` evaluator and the study's settings, and
reports the measurements together with a description of the device.

The settings are the torch evaluator's (task, resolution, threads, repeats, ...): they travel to the
worker with each claim, so every device measures the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from search_engine.evaluators.external import MeasuredOutside
from search_engine.evaluators.torch_model import TorchEvaluator
from search_engine.types import Architecture, EvaluationResult

#: The evaluator a worker runs for a remote study.
MEASURED_BY = "torch"


@dataclass(eq=False)
class RemoteEvaluator(TorchEvaluator, MeasuredOutside):
    """The torch evaluator's objectives and settings, with the measuring done by remote workers."""

    DISPATCH: ClassVar[str] = "remote"

    def worker_spec(self) -> dict[str, Any]:
        """``{"name", "params"}`` of the evaluator a worker builds to measure this study's architectures."""
        return {"name": MEASURED_BY, "params": self.param_values()}

    def metric_names(self) -> None:
        """Any: the torch measurement names its own metrics (parameters, multiply-adds, ...)."""
        return None

    def _evaluate_one(self, architecture: Architecture) -> EvaluationResult:
        return EvaluationResult.failure(
            "the remote evaluator measures on evaluation workers: start one with "
            "`python -m search_engine.worker --server URL --token TOKEN`"
        )
