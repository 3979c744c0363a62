"""URL routes: the studies app, the evaluation worker API, sign-in, the admin site and the RQ dashboard."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from django_rq import urls as rq_urls

# django-rq's pages (staff only) carry inline <script> and <style> blocks of their own, which the
# site's policy refuses; they alone get 'unsafe-inline' for scripts and styles. Replaced, not
# added to: next to a hash (the site's style-src has one) browsers ignore 'unsafe-inline'.
RQ_DASHBOARD_CSP = {"script-src": ["'self'", "'unsafe-inline'"], "style-src": ["'self'", "'unsafe-inline'"]}


def _rq_dashboard_patterns() -> list[URLPattern | URLResolver]:
    """django-rq's URL patterns, each view wrapped to send the RQ dashboard's policy."""
    patterns: list[URLPattern | URLResolver] = []
    for pattern in rq_urls.urlpatterns:
        if isinstance(pattern, URLPattern):
            view = csp_replace(RQ_DASHBOARD_CSP)(pattern.callback)
            pattern = URLPattern(pattern.pattern, view, pattern.default_args, pattern.name)
        patterns.append(pattern)
    return patterns


urlpatterns = [
    path("", include("hytnas_web.studies.urls")),
    path("api/v1/", include("hytnas_web.studies.urls_api")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Before the admin: its catch-all pattern would otherwise answer 404 for every /admin/rq/ page.
    path("admin/rq/", include((_rq_dashboard_patterns(), rq_urls.app_name))),
    path("admin/", admin.site.urls),
]
