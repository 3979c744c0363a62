"""Static files under content-hashed names, compressed, cached for good; plain names before collectstatic.

``collectstatic`` (which ``runstack`` and the Docker image run) writes every asset under a name
carrying a hash of its content (``js/charts.3f9c2a1b7e4d.js``) with a gzip copy beside
it. Pages then link the hashed names, and whitenoise serves them compressed with a far-future,
immutable cache: a browser downloads plotly.js (4.8 MB, about 1.4 MB gzipped) once per plotly release,
and a changed script gets a new name, so no stale copy is ever used.

Before ``collectstatic`` has run (a test run, ``manage.py runserver`` on a fresh checkout), an asset
that is not collected keeps its plain name and is served from the source folders with a short
cache, instead of the page failing.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class VersionedStaticStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]  # whitenoise ships no types
    """Hashed, compressed names once collected; the plain name of an asset not collected yet."""

    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return str(super().stored_name(name))
        except ValueError:  # neither in the manifest nor in STATIC_ROOT: not collected yet
            return name
