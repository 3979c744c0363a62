"""URL routes: the studies app, the evaluation worker API, sign-in, the admin site and the RQ dashboard."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("hytnas_web.studies.urls")),
    path("api/v1/", include("hytnas_web.studies.urls_api")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("admin/rq/", include("django_rq.urls")),
]
