"""The studies list: a user's own studies with status, progress, best hypervolume and last activity."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from hytnas_web.studies.models import Evaluation, Iteration, Study

LIST = reverse("studies-list")


def measured(study: Study, n_done: int, n_failed: int = 0, hypervolume: float | None = None) -> None:
    """Give ``study`` an initial design of ``n_done`` measured and ``n_failed`` failed evaluations."""
    iteration = Iteration.objects.create(
        study=study,
        index=0,
        seed=1,
        status=Iteration.Status.DONE,
        hypervolume=hypervolume,
        n_evaluations=n_done + n_failed,
    )
    for i in range(n_done + n_failed):
        failed = i >= n_done
        Evaluation.objects.create(
            study=study,
            iteration=iteration,
            position=i,
            key=f"k{i}",
            x=[0.5] * 4,
            architecture={"x0": i},
            source=Evaluation.Source.INITIAL,
            status=Evaluation.Status.FAILED if failed else Evaluation.Status.DONE,
            objectives=None if failed else [0.1 * i, 1.0],
        )


def test_alice_sees_her_studies_with_their_progress(alice_client: Any, alice: Any, make_study: Any) -> None:
    running = make_study(alice, name="Measured one")
    measured(running, n_done=7, n_failed=2, hypervolume=0.61234567)
    Study.objects.filter(pk=running.pk).update(status=Study.Status.RUNNING)
    make_study(alice, name="Fresh draft")
    response = alice_client.get(LIST)
    assert response.status_code == 200
    content = response.content.decode()
    assert [study.name for study, _ in response.context["rows"]] == ["Fresh draft", "Measured one"]
    assert reverse("studies-detail", args=[running.pk]) in content
    assert "7 / 30" in content and "(2 failed)" in content
    assert "0.6123" in content
    assert "Running" in content and "Draft" in content
    assert "alice" in content


def test_the_list_offers_a_new_study_button(alice_client: Any) -> None:
    content = alice_client.get(LIST).content.decode()
    assert f'href="{reverse("studies-create")}"' in content
    assert "New study" in content
    assert "No studies yet" in content


def test_bob_does_not_see_alices_studies(bob_client: Any, alice: Any, make_study: Any) -> None:
    make_study(alice, name="Alice's secret search")
    response = bob_client.get(LIST)
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "Alice&#x27;s secret search" not in response.content.decode()


def test_anonymous_users_are_sent_to_sign_in(client: Any) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={LIST}"


def test_the_sign_in_page_renders(client: Any) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b"csrfmiddlewaretoken" in response.content
