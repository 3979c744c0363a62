"""plotly.js is served offline from the installed plotly package, under a versioned path."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

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


ONE_YEAR = 365 * 24 * 3600


def test_collected_assets_are_linked_by_content_hash_and_served_gzipped_for_good(
    tmp_path: Path, alice: User, make_study: Any
) -> None:
    """What ``runstack`` serves: collectstatic first, then hashed names, a gzip copy, an immutable cache."""
    study = make_study(alice)
    with override_settings(STATIC_ROOT=str(tmp_path / "static")):
        call_command("collectstatic", interactive=False, verbosity=0)
        browser = Client(HTTP_ACCEPT_ENCODING="gzip, deflate")  # a new client: whitenoise sees the new root
        browser.force_login(alice)
        page = browser.get(reverse("studies-detail", args=[study.pk])).content.decode()
        static_path, bundle = plotly_js()
        stem = static_path.removesuffix(".js")
        linked = re.findall(rf'src="(/static/{re.escape(stem)}\.[0-9a-f]{{12}}\.js)"', page)
        scripts = re.findall(r'src="[^"]*"', page)
        assert len(linked) == 1, f"no hashed plotly.js among the page's scripts: {scripts}"
        charts_js = re.findall(r'src="(/static/js/charts\.[0-9a-f]{12}\.js)"', page)
        assert len(charts_js) == 1
        for url, original in [(linked[0], bundle.read_bytes()), (charts_js[0], None)]:
            response = browser.get(url)
            assert response.status_code == 200, url
            assert response["Content-Encoding"] == "gzip", url
            cache = response["Cache-Control"]
            max_age = re.search(r"max-age=(\d+)", cache)
            assert "immutable" in cache and max_age is not None and int(max_age.group(1)) >= ONE_YEAR, cache
            body = gzip.decompress(b"".join(response.streaming_content))
            if original is not None:
                assert body == original
