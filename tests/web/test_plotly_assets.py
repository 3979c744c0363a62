"""plotly.js is served offline from the installed plotly package, under a versioned path."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles import finders

from hytnas_web.lib.plotly_assets import plotly_js


def test_the_versioned_path_finds_the_installed_bundle() -> None:
    static_path, file = plotly_js()
    assert static_path.startswith("vendor/plotly-") and static_path.endswith("/plotly.min.js")
    found = finders.find(static_path)
    assert found == str(file)
    with open(found, encoding="utf-8") as handle:
        assert "plotly.js" in handle.read(400)


def test_collectstatic_lists_the_bundle_under_its_versioned_path() -> None:
    static_path, _ = plotly_js()
    listed = [
        f"{storage.prefix}/{path}" if getattr(storage, "prefix", None) else path
        for finder in finders.get_finders()
        for path, storage in finder.list([])
    ]
    assert static_path in listed


def test_the_bundle_is_served_without_a_network(client: Any) -> None:
    response = client.get(f"/static/{plotly_js()[0]}")
    assert response.status_code == 200
