"""The accuracy signal's rank correlation with the parameter count, on the study and architecture pages.

Studies here are measured for real: the iteration job hands its architectures out and each is measured
by the torch evaluator in this process (32 px networks, one timed pass), as an evaluation job would.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.urls import reverse
from scipy import stats

from hytnas_web.studies import services
from hytnas_web.studies.models import Evaluation, Study
from search_engine.evaluators.accuracy_signals import ACCURACY_SIGNALS
from tests.web.hardware_studies import FAST_TORCH, make_hardware_study
from tests.web.test_create_torch import CREATE, torch_form

pytest.importorskip("torch")

LATENCY = {"name": "latency", "direction": "min", "unit": "ms"}


def measured_study(owner: Any, accuracy: str, n_init: int = 4, **settings: Any) -> Study:
    """A torch study with ``accuracy`` as its signal whose initial design is measured."""
    signal = ACCURACY_SIGNALS[accuracy]
    assert signal.objective is not None
    study = make_hardware_study(
        owner,
        "torch",
        name=f"{accuracy} study",
        evaluator={"name": "torch", "params": {**FAST_TORCH, "accuracy": accuracy, **settings}},
        objectives=[signal.objective.to_dict(), LATENCY],
        n_init=n_init,
        budget=n_init + 2,
    )
    services.start_study(study)
    services.run_iteration(study.pk, 0, job_id="iteration-0")
    for evaluation in study.evaluations.order_by("position"):
        assert services.run_evaluation(evaluation.pk, job_id=f"e-{evaluation.pk}") == "measured"
    done = study.evaluations.filter(status=Evaluation.Status.DONE).count()
    assert done == n_init, [e.error for e in study.evaluations.all()]
    return study


def panel_text(content: str) -> str:
    """The correlation panel's text, tags stripped and spaces collapsed."""
    start = content.index('<section class="proxy-correlation"')
    section = content[start : content.index("</section>", start)]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def expected_rho(study: Study) -> float:
    """Spearman's rho of the first objective with ``params_total`` over the stored evaluations, by scipy."""
    rows = list(study.evaluations.filter(status=Evaluation.Status.DONE).values_list("objectives", "metrics"))
    values = [objectives[0] for objectives, _ in rows]
    params = [metrics["params_total"] for _, metrics in rows]
    return float(stats.spearmanr(values, params).statistic)


@pytest.mark.django_db(transaction=True)
def test_the_study_page_says_how_much_the_naswot_score_is_network_size(
    alice: Any, alice_client: Any, rq_queues: str
) -> None:
    study = measured_study(alice, "naswot", n_init=5)
    rho = expected_rho(study)
    response = alice_client.get(reverse("studies-detail", args=[study.pk]))
    assert response.status_code == 200
    text = panel_text(response.content.decode())
    assert "Spearman rank correlation of accuracy_proxy with the parameter count" in text
    assert f"{rho:.2f} (5 architectures)" in text
    assert re.search(f"NASWOT ranks architectures (only )?{rho:.2f} like their parameter count", text)
    if rho >= 0.9:
        assert "it is mostly a size measure" in text
    elif rho < 0.5:
        assert "it is mostly a size measure" not in text and "size explains part" not in text
    # The architecture page, where the score is shown too, says the same.
    evaluation = study.evaluations.first()
    assert evaluation is not None
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk]))
    assert panel_text(page.content.decode()) == text
    # The page's poll for what changed brings the panel along with the evaluations.
    poll = alice_client.get(reverse("studies-dashboard-data", args=[study.pk])).json()
    assert panel_text(poll["html"]["proxy_correlation"]) == text


@pytest.mark.django_db(transaction=True)
def test_a_study_measured_by_its_parameter_count_says_so(
    alice: Any, alice_client: Any, rq_queues: str
) -> None:
    study = measured_study(alice, "params")
    evaluation = study.evaluations.first()
    assert evaluation is not None and evaluation.objectives is not None
    assert evaluation.objectives[0] == evaluation.metrics["params_total"]
    text = panel_text(alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode())
    assert "The accuracy objective is the parameter count itself (Spearman 1.00 over 4 measured" in text


@pytest.mark.slow  # three architectures trained twice each: tens of seconds on a busy machine
@pytest.mark.django_db(transaction=True)
def test_short_training_over_seeds_shows_its_spread_and_its_correlation_with_size(
    alice: Any, alice_client: Any, rq_queues: str
) -> None:
    training = {
        "num_classes": 4,
        "train_resolution": 16,
        "train_images": 256,
        "train_steps": 40,
        "train_batch": 32,
        "train_seeds": 2,
    }
    study = measured_study(alice, "trained", n_init=3, **training)
    rho = expected_rho(study)
    evaluation = study.evaluations.order_by("position").first()
    assert evaluation is not None and evaluation.objectives is not None
    per_seed = [evaluation.metrics["val_accuracy_seed_0"], evaluation.metrics["val_accuracy_seed_1"]]
    assert evaluation.objectives[0] == pytest.approx(sum(per_seed) / 2)
    text = panel_text(alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode())
    assert re.search(f"Short-training accuracy ranks architectures (only )?{rho:.2f} like their", text)
    spreads = sorted(e.metrics["val_accuracy_std"] for e in study.evaluations.all())
    assert spreads[1] > 0  # the seeds really differ, so the spread shown is a measured one
    median = f"{spreads[1]:.1f}"
    assert f"the same architecture's accuracy typically differs by {median} points" in text
    page = alice_client.get(reverse("studies-architecture", args=[study.pk, evaluation.pk])).content.decode()
    assert "Validation accuracy, standard deviation over the training seeds (points)" in page
    assert "val_accuracy_seed_0" in page and "val_accuracy_seed_1" in page  # each seed's accuracy


@pytest.mark.django_db
def test_before_three_measurements_the_panel_says_it_is_waiting(alice: Any, alice_client: Any) -> None:
    study = make_hardware_study(alice, "torch")
    text = panel_text(alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode())
    waiting = "NASWOT will be compared with the parameter count once 3 architectures are measured (0 so far)"
    assert waiting in text


@pytest.mark.django_db
def test_a_benchmark_study_shows_no_correlation_panel(alice_client: Any, make_study: Any, alice: Any) -> None:
    study = make_study(alice)
    content = alice_client.get(reverse("studies-detail", args=[study.pk])).content.decode()
    assert 'class="proxy-correlation"' not in content


@pytest.mark.django_db
@pytest.mark.parametrize("accuracy", [key for key in ACCURACY_SIGNALS if key not in ("naswot", "none")])
def test_a_study_is_created_with_each_accuracy_signal_from_the_form(
    alice_client: Any, alice: Any, accuracy: str
) -> None:
    form = alice_client.get(CREATE).content.decode()
    assert f'<option value="{accuracy}"' in form
    data = torch_form(alice_client, **{"evaluator-torch-accuracy": accuracy})
    response = alice_client.post(CREATE, data)
    assert response.status_code == 302, response.context["form"].errors
    study = Study.objects.get(owner=alice)
    objective = ACCURACY_SIGNALS[accuracy].objective
    assert objective is not None
    assert study.objectives == [objective.to_dict(), LATENCY]
    assert study.evaluator["params"]["accuracy"] == accuracy
