"""A study's architectures read as networks, stage by stage (HyT-NAS space only).

The view itself is declared once in the engine (``search_engine.spaces.hytnas_stages``); this module
gives it what only the web layer knows: whether the study's space is HyT-NAS and the evaluator's
parameters (task, resolution, classes, anchors) its costs are counted for. Other spaces get None,
and their pages keep showing the plain list of variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hytnas_web.studies.models import Study
from hytnas_web.studies.services.configs import study_config
from search_engine.constraints import evaluator_setting
from search_engine.errors import ConfigError
from search_engine.spaces.hytnas_stages import StageView, stage_summaries, stage_views

HYTNAS = "hytnas"
NETWORK_SPACES = (HYTNAS, "hytnas-mobilevit")
"""The HyT-NAS space and its extension that reaches MobileViT: both read as networks."""


def reads_as_network(study: Study) -> bool:
    """True when the study's architectures are HyT-NAS networks, which have a stage-by-stage view."""
    return isinstance(study.space, dict) and study.space.get("name") in NETWORK_SPACES


def network_setting(study: Study) -> dict[str, Any]:
    """The evaluator's resolved parameters (the network's task and input); {} when they do not resolve."""
    try:
        return evaluator_setting(study_config(study))
    except (ConfigError, KeyError, TypeError, ValueError):
        return {}  # an evaluator no longer registered: count the default network


def network_views(
    study: Study,
    architectures: Sequence[Any],
    stage_latency: Sequence[Mapping[str, Any] | None] | None = None,
) -> list[StageView | None]:
    """The stage-by-stage view of each architecture of ``study`` (all None outside the HyT-NAS space)."""
    if not reads_as_network(study):
        return [None] * len(architectures)
    return stage_views(architectures, network_setting(study), stage_latency)


def network_view(study: Study, architecture: Any, stage_latency: Any = None) -> StageView | None:
    """``network_views`` of one stored architecture and its stored per-stage latency."""
    latency = stage_latency if isinstance(stage_latency, Mapping) else None
    return network_views(study, [architecture], [latency])[0]


def network_summaries(study: Study, architectures: Sequence[Any]) -> list[str | None]:
    """A compact per-stage summary of each architecture, for the Pareto chart's hover (None: none)."""
    if not reads_as_network(study):
        return [None] * len(architectures)
    return stage_summaries(architectures, network_setting(study))
