"""The study form's "architectures in flight" and pending-point strategy, and how the page shows them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from hytnas_web.studies import services
from hytnas_web.studies.models import Study
from tests.web.study_form_data import form_post_data, small_zdt1
from tests.web.test_create_external import external
from tests.web.test_create_view import CREATE, field_errors, post


def test_architectures_in_flight_are_refused_at_the_field_for_an_evaluator_measured_inline(
    alice_client: Any, alice: Any
) -> None:
    response = post(alice_client, form_post_data(alice_client, **small_zdt1(in_flight="4")))
    [error] = field_errors(response, "in_flight")
    assert "benchmark evaluator measures each batch inside the iteration job" in error
    assert "leave this blank for synchronous batches" in error
    assert not Study.objects.filter(owner=alice).exists()


def test_a_bad_pending_strategy_parameter_is_refused_at_its_field(alice_client: Any, alice: Any) -> None:
    changes = external(in_flight="4", pending="believer", **{"pending-believer-value": "median"})
    response = post(alice_client, form_post_data(alice_client, **changes))
    assert field_errors(response, "pending-believer-value")
    assert not Study.objects.filter(owner=alice).exists()


def test_an_external_study_keeping_n_in_flight_is_saved_shown_cloned_and_kept_by_presets(
    alice_client: Any, alice: Any, rq_queues: str
) -> None:
    changes = external(in_flight="4", n_init="3", pending="believer", **{"pending-believer-value": "max"})
    response = post(alice_client, form_post_data(alice_client, **changes))
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    assert study.config["in_flight"] == 4
    assert study.config["pending"] == {"name": "believer", "params": {"value": "max"}}

    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "keep 4 architectures in flight" in page
    assert "Points in flight" in page and "<code>believer</code>" in page
    assert "0 in flight of 4" in page

    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="test")  # the initial design (3), then room for one more
    services.run_iteration(study.pk, 1, job_id="test")
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "4 in flight of 4" in page
    assert "Keeping 4 architectures in flight: each row is one proposal" in page

    clone = alice_client.get(CREATE, {"clone": study.pk}).context["form"]
    assert clone["in_flight"].value() == 4
    assert clone["pending"].value() == "believer"
    assert clone["pending-believer-value"].value() == "max"
    preset = services.save_preset(alice, study, key="four-in-flight", label="Four in flight")
    from_preset = alice_client.get(CREATE, {"preset": preset.pk}).context["form"]
    assert from_preset["in_flight"].value() == 4
    assert from_preset["pending-believer-value"].value() == "max"


def test_a_synchronous_study_says_so_and_keeps_its_batch_size(alice_client: Any, alice: Any) -> None:
    response = post(alice_client, form_post_data(alice_client, **small_zdt1()))
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    assert study.config["in_flight"] is None
    page = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert "synchronous batches" in page and "in flight of" not in page
