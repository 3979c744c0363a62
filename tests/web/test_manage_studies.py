"""Managing studies: rename, notes, archive, delete (after a confirmation naming what is lost), and
finding one among many in the list (search, filters, sorting, paging)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Iteration, Study, WorkerToken
from hytnas_web.studies.services.housekeeping import MAX_NOTES_CHARS
from hytnas_web.studies.views import STUDIES_PER_PAGE
from tests.web.test_list_view import measured

LIST = reverse("studies-list")


def _names(response: Any) -> list[str]:
    return [study.name for study, _ in response.context["rows"]]


def test_alice_renames_her_study_and_the_page_and_list_show_the_new_name(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice, name="first try")
    response = alice_client.post(reverse("studies-rename", args=[study.pk]), {"name": "  MobileViT on Pi 5 "})
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.name == "MobileViT on Pi 5"
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "<h1>MobileViT on Pi 5</h1>" in page
    assert "MobileViT on Pi 5" in alice_client.get(LIST).content.decode()


@pytest.mark.parametrize(("name", "message"), [("   ", "needs a name"), ("x" * 201, "at most 200")])
def test_a_bad_new_name_is_refused_at_its_field_and_the_old_one_stays(
    alice_client: Any, alice: User, make_study: Any, name: str, message: str
) -> None:
    study = make_study(alice, name="kept")
    response = alice_client.post(reverse("studies-rename", args=[study.pk]), {"name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "<h1>kept</h1>" in response.content.decode()
    study.refresh_from_db()
    assert study.name == "kept"


def test_notes_on_a_study_are_saved_shown_searchable_and_removable(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice, name="Edge search")
    make_study(alice, name="Other search")
    notes_url = reverse("studies-notes", args=[study.pk])
    text = "Tried FFN x4: slower on the NPU.\nNext: patch size 2 <b>only</b>."
    assert alice_client.post(notes_url, {"notes": text}).status_code == 302
    study.refresh_from_db()
    assert study.notes == text
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "Tried FFN x4: slower on the NPU.<br>Next: patch size 2 &lt;b&gt;only&lt;/b&gt;." in page
    assert _names(alice_client.get(LIST, {"q": "npu"})) == ["Edge search"]

    assert alice_client.post(notes_url, {"notes": ""}).status_code == 302
    study.refresh_from_db()
    assert study.notes == ""


def test_notes_longer_than_the_limit_are_refused_and_the_old_ones_stay(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice)
    Study.objects.filter(pk=study.pk).update(notes="keep me")
    response = alice_client.post(
        reverse("studies-notes", args=[study.pk]), {"notes": "y" * (MAX_NOTES_CHARS + 1)}
    )
    assert response.status_code == 400
    assert f"at most {MAX_NOTES_CHARS:,}".replace(",", "") in response.content.decode().replace(",", "")
    study.refresh_from_db()
    assert study.notes == "keep me"


def test_notes_on_an_architecture_are_saved_on_its_page_and_leave_its_measurements_alone(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice)
    measured(study, n_done=2)
    evaluation = study.evaluations.order_by("id").first()
    assert evaluation is not None
    url = reverse("studies-architecture-notes", args=[study.pk, evaluation.pk])
    assert alice_client.post(url, {"notes": "retrain with 300 epochs"}).status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.notes == "retrain with 300 epochs" and evaluation.objectives == [0.0, 1.0]
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk])).content.decode()
    assert "retrain with 300 epochs" in page


def test_an_archived_study_leaves_the_list_stays_whole_and_comes_back(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice, name="Old sweep")
    measured(study, n_done=3)
    make_study(alice, name="Current sweep")
    assert alice_client.post(reverse("studies-archive", args=[study.pk])).status_code == 302
    assert _names(alice_client.get(LIST)) == ["Current sweep"]
    assert _names(alice_client.get(LIST, {"archived": "on"})) == ["Old sweep"]
    assert study.evaluations.count() == 3
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "Back to the study list" in page
    assert alice_client.post(reverse("studies-unarchive", args=[study.pk])).status_code == 302
    assert sorted(_names(alice_client.get(LIST))) == ["Current sweep", "Old sweep"]


def test_delete_first_names_what_is_lost_then_removes_the_study_and_its_own_tokens(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    study = make_study(alice, name="Throw-away")
    measured(study, n_done=4, n_failed=1)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)
    services.issue_token(alice, "board", study=study)
    shared = services.issue_token(alice, "all my studies").token
    copy = make_study(alice, name="Warm-started from it")
    Study.objects.filter(pk=copy.pk).update(warm_start_from=study)

    confirm = alice_client.get(reverse("studies-delete", args=[study.pk]))
    assert confirm.status_code == 200
    text = " ".join(confirm.content.decode().split())
    assert "Delete “Throw-away”?" in text
    assert "4 measured architectures and 1 failed one" in text
    assert "1 iteration with their hypervolume history" in text
    assert "1 worker token made for this study alone" in text
    assert "The study is running:" in text
    assert "1 other study started from its measurements keeps their copies" in text
    assert Study.objects.filter(pk=study.pk).exists()  # asking is not deleting

    response = alice_client.post(reverse("studies-delete", args=[study.pk]))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Study.objects.filter(pk=study.pk).exists()
    assert not Evaluation.objects.filter(study_id=study.pk).exists()
    assert not Iteration.objects.filter(study_id=study.pk).exists()
    assert list(WorkerToken.objects.filter(owner=alice)) == [shared]
    copy.refresh_from_db()
    assert copy.warm_start_from is None
    assert "Deleted “Throw-away”" in alice_client.get(LIST).content.decode()


def test_a_job_for_a_deleted_study_does_nothing_and_fails_nothing(alice: User, make_study: Any) -> None:
    study = make_study(alice)
    services.start_study(study)
    services.delete_study(study)
    assert services.run_iteration(study.pk, 0, job_id="late-job") == "no such study (deleted)"


def test_bob_can_neither_see_nor_change_alices_studies(bob_client: Any, alice: User, make_study: Any) -> None:
    study = make_study(alice, name="alice's")
    measured(study, n_done=1)
    evaluation = study.evaluations.get()
    for name, args, data in [
        ("studies-rename", [study.pk], {"name": "mine now"}),
        ("studies-notes", [study.pk], {"notes": "hi"}),
        ("studies-archive", [study.pk], {}),
        ("studies-unarchive", [study.pk], {}),
        ("studies-delete", [study.pk], {}),
        ("studies-architecture-notes", [study.pk, evaluation.pk], {"notes": "hi"}),
    ]:
        assert bob_client.post(reverse(name, args=args), data).status_code == 404, name
    assert bob_client.get(reverse("studies-delete", args=[study.pk])).status_code == 404
    study.refresh_from_db()
    assert (study.name, study.notes, study.archived_at) == ("alice's", "", None)
    assert _names(bob_client.get(LIST, {"q": "alice"})) == []


def test_the_list_filters_by_status_and_evaluator_and_sorts(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    low = make_study(alice, name="b low")
    measured(low, n_done=1, hypervolume=0.2)
    high = make_study(alice, name="a high")
    measured(high, n_done=1, hypervolume=0.9)
    Study.objects.filter(pk=high.pk).update(status=Study.Status.COMPLETED)
    make_study(alice, name="c none")
    assert _names(alice_client.get(LIST, {"status": "completed"})) == ["a high"]
    assert _names(alice_client.get(LIST, {"sort": "name"})) == ["a high", "b low", "c none"]
    assert _names(alice_client.get(LIST, {"sort": "hypervolume"})) == ["a high", "b low", "c none"]
    assert _names(alice_client.get(LIST, {"evaluator": "benchmark"})) == ["c none", "a high", "b low"]
    # A stale or hand-edited address shows the list, not an error.
    response = alice_client.get(LIST, {"status": "nonsense", "sort": "'; drop", "page": "-3"})
    assert response.status_code == 200 and len(_names(response)) == 3


def test_the_list_pages_hundreds_of_studies_and_jumps_to_any_page(
    alice_client: Any, alice: User, make_study: Any
) -> None:
    first = make_study(alice, name="study 000")
    Study.objects.bulk_create(
        [
            Study(
                owner=alice,
                name=f"study {i:03d}",
                config=first.config,
                evaluator_name="benchmark",
                n_objectives=2,
            )
            for i in range(1, 130)
        ]
    )
    response = alice_client.get(LIST, {"sort": "name"})
    assert _names(response) == [f"study {i:03d}" for i in range(STUDIES_PER_PAGE)]
    pages = -(-130 // STUDIES_PER_PAGE)
    content = response.content.decode()
    assert f"Page 1 of {pages}" in content and 'name="page"' in content
    last = alice_client.get(LIST, {"sort": "name", "page": pages})
    assert _names(last)[-1] == "study 129"
    assert _names(alice_client.get(LIST, {"sort": "name", "page": 999})) == _names(last)
    filtered = alice_client.get(LIST, {"q": "study 12", "sort": "name"})
    assert _names(filtered) == [f"study {i}" for i in range(120, 130)]
    assert "10 studies match" in filtered.content.decode()
