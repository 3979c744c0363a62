"""The auto optimizer in the web app: the form's default, what the study page says it chose, presets."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Iteration, Study
from tests.web.study_form_data import form_post_data
from tests.web.test_create_view import CREATE, post

SMALL = {
    "name": "ZDT1 by auto",
    "n_init": "10",
    "batch_size": "5",
    "budget": "15",
    "evaluator-benchmark-n_var": "4",
}


def _auto_study(client: Any, owner: Any, **changes: str) -> Study:
    """A small ZDT1 study created from the plain form, which starts from the auto preset."""
    response = post(client, form_post_data(client, CREATE, **{**SMALL, **changes}))
    assert response.status_code == 302, response.context["form"].errors
    return Study.objects.get(owner=owner, name=changes.get("name", SMALL["name"]))


def _page(client: Any, study: Study) -> str:
    response = client.get(reverse("studies-detail", args=[study.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def test_a_study_from_the_default_form_lets_auto_choose_and_its_page_says_what_it_will_run(
    alice_client: Any, alice: Any
) -> None:
    study = _auto_study(alice_client, alice)
    assert study.config["auto"] is True and study.preset is not None and study.preset.key == "auto"
    services.study_config(study).validate()
    page = _page(alice_client, study)
    assert "What the optimizer chose" in page
    assert "No proposal yet: from the measurements so far, the next proposal will run" in page
    assert "auto: chooses its components at every proposal" in page
    assert 'data-auto-part="Gaussian process"' in page and 'data-auto-part="boosted trees"' in page
    assert "models the whole 4-variable space from few points" in page


def test_after_a_proposal_the_page_shows_the_parts_it_ran_and_why(alice_client: Any, alice: Any) -> None:
    study = _auto_study(alice_client, alice)
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")  # the initial design: no proposal yet
    services.run_iteration(study.pk, 1, job_id="test")  # auto's first proposal of 5
    proposal = Iteration.objects.get(study=study, index=1)
    recorded = proposal.diagnostics["auto"]
    assert sum(recorded["proposed"]) == 5
    page = _page(alice_client, study)
    assert "At iteration 1, the latest proposal ran:" in page
    for part, count in zip(recorded["parts"], recorded["proposed"], strict=True):
        assert f'data-auto-part="{part["label"]}"' in page
        assert f"{count} proposed" in page
    for reason in recorded["reasons"]:
        assert reason.replace("'", "&#x27;") in page
    assert "measurements are exact" in page  # a formula: the GP passes through every measurement


def test_a_study_with_explicit_components_shows_no_auto_choice(alice_client: Any, alice: Any) -> None:
    study = _auto_study(alice_client, alice, name="explicit", auto="")  # the box unticked
    assert study.config["auto"] is False
    page = _page(alice_client, study)
    assert "What the optimizer chose" not in page
    assert "<dt>Surrogate</dt>" in page


def test_presets_and_clones_keep_auto(alice_client: Any, alice: Any) -> None:
    study = _auto_study(alice_client, alice)
    preset = services.save_preset(alice, study, key="mine-auto", label="My auto")
    assert preset.auto is True
    from_preset = alice_client.get(CREATE, {"preset": preset.pk}).context["form"]
    assert from_preset["auto"].value() is True
    clone = alice_client.get(CREATE, {"clone": study.pk}).context["form"]
    assert clone["auto"].value() is True
    explicit = _auto_study(alice_client, alice, name="explicit", auto="")
    assert services.save_preset(alice, explicit, key="mine-explicit", label="Explicit").auto is False
    assert alice_client.get(CREATE, {"clone": explicit.pk}).context["form"]["auto"].value() is False
