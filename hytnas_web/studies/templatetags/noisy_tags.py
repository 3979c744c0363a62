"""``{% noisy_badge %}``, ``{% noisy_panel %}``, ``{% noisy_dashboard %}``: noisy measurements on pages.

Each reads ``services.noisy`` (the one place that says whether a measurement is noisy and why), so
the architectures table, the architecture page and the dashboard agree without their views
computing anything for it.
"""

from __future__ import annotations

from typing import Any

from django import template

from hytnas_web.studies.models import Evaluation, Study
from hytnas_web.studies.services import noisy

register = template.Library()


@register.inclusion_tag("studies/noisy_badge.html")
def noisy_badge(study: Study, evaluation: Evaluation) -> dict[str, Any]:
    """A "noisy" badge with its reasons, for a flagged measurement; nothing for the others."""
    return {"noise": noisy.evaluation_noise(study, evaluation)}


@register.inclusion_tag("studies/architecture_noisy.html")
def noisy_panel(study: Study, evaluation: Evaluation) -> dict[str, Any]:
    """The architecture page's section: why its measurement is noisy, and the measurements it replaced."""
    target = noisy.target_spread_of(study)
    kept_ones = noisy.previous_measurements(evaluation)
    previous = [(kept, noisy.noise_of(kept.metrics, target)) for kept in kept_ones]
    return {
        "study": study,
        "evaluation": evaluation,
        "noise": noisy.evaluation_noise(study, evaluation),
        "previous": previous,
    }


@register.inclusion_tag("studies/dashboard_noisy.html")
def noisy_dashboard(study: Study) -> dict[str, Any]:
    """The dashboard's line: N measurements flagged noisy, with a link to review and re-measure them."""
    return {"study": study, "summary": noisy.noisy_summary(study)}
