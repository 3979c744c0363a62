"""Writing a study's stored configuration directly, as an older release or a hand edit may have left it.

``services.save_study`` validates a configuration before storing it; tests of what a page does with
hostile names, or of a job meeting a configuration it cannot build, store one that skipped that.
"""

from __future__ import annotations

from typing import Any

from hytnas_web.studies.models import Study


def store_config(study: Study, **changes: Any) -> Study:
    """``study`` with ``changes`` written into its stored configuration, unchecked (columns derived)."""
    study.config = {**study.config, **changes}
    study.save(update_fields=["config"])
    return study
