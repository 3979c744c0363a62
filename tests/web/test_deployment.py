"""Production settings: `check --deploy` passes with README's variables, HTTPS headers, CSP, the RQ dashboard.

The HTTPS switches are read once, when settings load, so the tests that turn them on run Django in
a subprocess with exactly the variables README's "Production settings" passage lists.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_BLOCK = re.compile(r"### Production settings\n.*?```sh\n(?P<body>.*?)```", re.S)


def documented_production_env() -> dict[str, str]:
    """What README's "Production settings" block sets (a ``<...>`` placeholder gets a real secret)."""
    match = PRODUCTION_BLOCK.search((ROOT / "README.md").read_text())
    assert match is not None, "README.md has no 'Production settings' block"
    variables = {}
    for line in match["body"].splitlines():
        line = line.split("  #")[0].strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        variables[name] = secrets.token_urlsafe(50) if value.startswith("<") else value
    return variables


def run_django(variables: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``args`` run by Python in the checkout with only ``variables`` (and PATH) in the environment."""
    env = {"PATH": os.environ["PATH"], **variables}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
         "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER"]
print(json.dumps({name: getattr(s, name) for name in names}))
"""


def django_settings(variables: dict[str, str]) -> dict[str, Any]:
    done = run_django({"DJANGO_SETTINGS_MODULE": "hytnas_web.settings", **variables}, "-c", SHOW_SETTINGS)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_check_deploy_passes_with_the_documented_production_settings() -> None:
    variables = documented_production_env()
    assert variables["HYTNAS_HTTPS"] == "true" and variables["DEBUG"] == "false"
    done = run_django(variables, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_check_deploy_names_each_https_setting_it_misses_without_the_switch() -> None:
    variables = documented_production_env()
    del variables["HYTNAS_HTTPS"]
    done = run_django(variables, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in done.stderr


def test_the_https_switch_turns_on_secure_cookies_hsts_and_the_redirect() -> None:
    plain = django_settings({})
    assert plain == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }
    https = django_settings({"HYTNAS_HTTPS": "true", "HYTNAS_BEHIND_PROXY": "true"})
    assert https == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    trial = django_settings(
        {"HYTNAS_HTTPS": "true", "HYTNAS_HSTS_SECONDS": "3600", "HYTNAS_HSTS_PRELOAD": "no"}
    )
    assert trial["SECURE_HSTS_SECONDS"] == 3600 and trial["SECURE_HSTS_PRELOAD"] is False


def test_a_bad_switch_value_stops_start_up_naming_the_variable() -> None:
    done = run_django(
        {"DJANGO_SETTINGS_MODULE": "hytnas_web.settings", "HYTNAS_HTTPS": "maybe"}, "-c", SHOW_SETTINGS
    )
    assert done.returncode != 0 and "HYTNAS_HTTPS='maybe': expected true or false" in done.stderr


@pytest.mark.django_db
def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts(settings: Any, alice: User) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    plain = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="http")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/accounts/login/"
    secure = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/", "/studies/new/", "/workers/tokens/"])
def test_every_page_sends_a_policy_without_unsafe_inline(alice_client: Any, url: str) -> None:
    response = alice_client.get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_a_superuser_reaches_the_rq_dashboard(client: Client) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "a long enough password 42")
    client.force_login(root)
    response = client.get(reverse("django_rq:home"))
    assert response.status_code == 200
    assert b"Queues" in response.content or b"queue" in response.content
    # its own inline scripts and styles are allowed there, and only there
    assert "'unsafe-inline'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_a_user_who_is_not_staff_does_not_reach_the_rq_dashboard(alice_client: Any) -> None:
    response = alice_client.get(reverse("django_rq:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_rq_dashboard_is_not_shadowed_by_the_admin() -> None:
    from django.urls import resolve

    assert resolve("/admin/rq/").namespace == "django_rq"
    assert resolve("/admin/rq/queues/0/").url_name == "jobs"


def test_the_style_hashes_match_the_text_styles_of_the_installed_plotly_js(settings: Any) -> None:
    from hytnas_web.lib.plotly_assets import plotly_js
    from hytnas_web.settings import csp_hash
    from hytnas_web.studies.templatetags.plotly_csp import guarded_style_ids

    source = plotly_js()[1].read_text(encoding="utf-8")
    tag_styles = re.search(r'\{sup:"[^"]*",sub:"[^"]*"[^}]*\}', source)
    assert tag_styles is not None, "plotly.js no longer has its TAG_STYLES table: check the policy"
    styles = set(re.findall(r'\w+:"([^"]*)"', tag_styles.group()))
    assert styles == set(settings.PLOTLY_TEXT_STYLES)
    policy = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]
    assert policy == [
        "'self'",
        "'unsafe-hashes'",
        *(csp_hash(s) for s in settings.PLOTLY_TEXT_STYLES),
    ]
    assert csp_hash("") == "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    # the map stylesheet plotly.js would inject on load is found, so the pages can keep it out
    assert len(guarded_style_ids()) == 1 and all(len(i) == 64 for i in guarded_style_ids())


@pytest.mark.django_db
def test_pages_that_load_plotly_place_the_style_guard_before_it(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    from hytnas_web.studies.templatetags.plotly_csp import guarded_style_ids

    study = make_study(alice)
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    guard = page.index(f'<template id="{guarded_style_ids()[0]}"></template>')
    assert guard < page.index("plotly.min.js")
