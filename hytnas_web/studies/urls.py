"""URL names carry the app prefix: studies-list, studies-detail, studies-start, ..."""

from __future__ import annotations

from django.urls import URLPattern, path

from hytnas_web.studies import views

urlpatterns: list[URLPattern] = [
    path("", views.study_list, name="studies-list"),
    path("studies/new/", views.study_create, name="studies-create"),
    path("studies/<int:pk>/", views.study_detail, name="studies-detail"),
    *(
        path(f"studies/<int:pk>/{action}/", views.study_action, {"action": action}, name=f"studies-{action}")
        for action in views.ACTIONS
    ),
    path("studies/<int:pk>/clone/", views.study_clone, name="studies-clone"),
    path("studies/<int:pk>/save-preset/", views.study_save_preset, name="studies-save-preset"),
]
