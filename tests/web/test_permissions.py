"""Who may see what: every page needs a signed-in user, and a user reaches only their own studies."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study


@pytest.mark.parametrize("name", ["studies-list", "studies-create"])
def test_pages_need_a_signed_in_user(client: Any, name: str) -> None:
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_a_study_page_needs_a_signed_in_user(client: Any, alice: Any, make_study: Any) -> None:
    url = reverse("studies-detail", args=[make_study(alice).pk])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={url}"


def test_a_user_reaches_only_their_own_studies(
    alice_client: Any, alice: Any, bob: Any, make_study: Any
) -> None:
    mine, theirs = make_study(alice, name="mine"), make_study(bob, name="theirs")
    assert alice_client.get(reverse("studies-detail", args=[mine.pk])).status_code == 200
    assert alice_client.get(reverse("studies-detail", args=[theirs.pk])).status_code == 404
    assert alice_client.get(reverse("studies-create"), {"clone": theirs.pk}).status_code == 404
    listed = [study for study, _ in alice_client.get(reverse("studies-list")).context["rows"]]
    assert listed == [mine]


def test_a_user_sees_builtin_presets_and_only_their_own(
    alice_client: Any, alice: Any, bob: Any, make_study: Any
) -> None:
    services.save_preset(alice, make_study(alice), "alices", "Alice's preset")
    services.save_preset(bob, make_study(bob), "bobs", "Bob's preset")
    content = alice_client.get(reverse("studies-create")).content.decode()
    assert "Alice&#x27;s preset" in content and "Bob&#x27;s preset" not in content
    assert "HyT-NAS original" in content


def test_signing_out_takes_a_post(alice_client: Any) -> None:
    page = alice_client.get(reverse("studies-list")).content.decode()
    assert f'method="post" action="{reverse("logout")}"' in page
    assert alice_client.get(reverse("logout")).status_code == 405
    assert alice_client.post(reverse("logout")).status_code == 302
    assert alice_client.get(reverse("studies-list")).status_code == 302


@pytest.mark.parametrize("query", ["clone=abc", "clone=-1", "clone=" + "9" * 30, "preset=1.5", "preset="])
def test_odd_query_parameters_are_not_found_not_errors(alice_client: Any, query: str) -> None:
    assert alice_client.get(f"{reverse('studies-create')}?{query}").status_code == 404


def test_a_study_id_that_is_not_a_number_has_no_page(alice_client: Any) -> None:
    assert alice_client.get("/studies/abc/").status_code == 404
    assert not Study.objects.exists()
