"""Managing a study in a real headless chromium: notes, rename, and delete after its confirmation.

Selectors (templates/studies/study_manage.html, delete.html): ``details.edit-notes`` and
``details.rename`` with their forms, ``a.action-delete``, ``#deletion-losses``.
"""

from __future__ import annotations

from typing import Any

import pytest

from hytnas_web.studies.models import Study
from tests.web.browser import PageProblems, chromium, chromium_path, log_in, screenshot
from tests.web.conftest import PASSWORD
from tests.web.test_list_view import measured


@pytest.mark.django_db(transaction=True)
def test_alice_writes_notes_renames_and_deletes_a_study_in_the_browser(
    live_server: Any, alice: Any, make_study: Any
) -> None:
    chromium_path()
    study = make_study(alice, name="Sweep 7")
    measured(study, n_done=3, n_failed=1)
    problems = PageProblems()
    with chromium() as browser:
        page = browser.new_page()
        problems.watch(page)
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/{study.pk}/")

        page.fill("details.edit-notes textarea[name=notes]", "Latency bound too tight:\nrelax to 40 ms.")
        with page.expect_navigation():
            page.click("details.edit-notes button[type=submit]")
        assert "relax to 40 ms." in page.inner_text("#study-notes")

        page.click("details.rename summary")
        page.fill("details.rename input[name=name]", "Sweep 7: Pi 5, 40 ms")
        with page.expect_navigation():
            page.click("details.rename button[type=submit]")
        assert page.inner_text("h1") == "Sweep 7: Pi 5, 40 ms"

        with page.expect_navigation():
            page.click("a.action-delete")
        losses = " ".join(page.inner_text("#deletion-losses").split())
        assert "3 measured architectures and 1 failed one" in losses
        screenshot(page, "study-delete-confirmation")
        with page.expect_navigation():
            page.click("form button.danger")
        assert "Deleted “Sweep 7: Pi 5, 40 ms”" in page.inner_text("body")
        assert "No studies yet" in page.inner_text("body")
    assert problems.all() == []
    assert not Study.objects.filter(pk=study.pk).exists()


WIDER_THAN_THE_WINDOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.django_db(transaction=True)
def test_a_long_name_without_spaces_wraps_instead_of_widening_the_pages(
    live_server: Any, alice: Any, make_study: Any
) -> None:
    chromium_path()
    study = make_study(alice, name="x" * 200)
    measured(study, n_done=2)
    evaluation = study.evaluations.order_by("id").first()
    assert evaluation is not None
    pages = [
        "/",
        f"/studies/{study.pk}/",
        f"/studies/{study.pk}/architectures/",
        f"/studies/{study.pk}/architectures/{evaluation.pk}/",
        f"/studies/{study.pk}/delete/",
    ]
    overflow = {}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, live_server.url, "alice", PASSWORD)
        for path in pages:
            page.goto(live_server.url + path)
            overflow[path] = page.evaluate(WIDER_THAN_THE_WINDOW)
    assert overflow == dict.fromkeys(pages, 0)


@pytest.mark.django_db(transaction=True)
def test_cancel_asks_first_and_dismissing_keeps_the_study_running(live_server: Any, alice: Any) -> None:
    from hytnas_web.studies import services
    from tests.web.external_studies import make_external_study

    chromium_path()
    study = make_external_study(alice, name="Long board run")
    Study.objects.filter(pk=study.pk).update(status=Study.Status.RUNNING)  # its work waits for workers
    dialogs: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        log_in(page, live_server.url, "alice", PASSWORD)
        page.goto(f"{live_server.url}/studies/{study.pk}/")
        page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.click("button.action-cancel")
        page.wait_for_timeout(500)  # a dismissed confirmation posts nothing; give a stray post time to land
        still_running = page.inner_text("[data-field=status]")
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.click("button.action-cancel")
        after = page.inner_text("[data-field=status]")
    assert dialogs and "Cancel “Long board run”?" in dialogs[0] and "cannot be resumed" in dialogs[0]
    assert still_running == "Running" and after == "Cancelled"
    assert services.allowed_actions(Study.objects.get(pk=study.pk)) == []
