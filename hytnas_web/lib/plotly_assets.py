"""plotly.js served from the installed ``plotly`` package, under a versioned static path.

The file is not copied into the repository: a staticfiles finder hands Django (and collectstatic,
and whitenoise) the ``package_data/plotly.min.js`` of the pinned Python package, so the JavaScript
always matches the figure schema the server builds, and the pages work offline with no CDN.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from django.http import HttpRequest


@cache
def plotly_js() -> tuple[str, Path]:
    """``(static path, file on disk)`` of plotly.js, e.g. ``vendor/plotly-4.1.1/plotly.min.js``."""
    import plotly
    from plotly.offline import get_plotlyjs_version

    package_data = Path(plotly.__file__).resolve().parent / "package_data"
    return f"vendor/plotly-{get_plotlyjs_version()}/plotly.min.js", package_data / "plotly.min.js"


class PlotlyJSFinder(BaseFinder):
    """Finds the one file ``plotly_js()`` names; lists it for collectstatic."""

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        static_path, file = plotly_js()
        if path != static_path:
            return [] if find_all else None
        return [str(file)] if find_all else str(file)

    def list(self, ignore_patterns: Any) -> Any:
        static_path, file = plotly_js()
        storage = FileSystemStorage(location=str(file.parent))
        storage.prefix = str(Path(static_path).parent)  # type: ignore[attr-defined]
        yield file.name, storage


def context(request: HttpRequest) -> dict[str, str]:
    """Template context: ``plotly_js``, the static path to include with ``{% static plotly_js %}``."""
    return {"plotly_js": plotly_js()[0]}
