"""The torch evaluator's accuracy signals: SynFlow, sizes as stand-ins, short training over several seeds."""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from search_engine.evaluators.accuracy_signals import ACCURACY_SIGNALS  # noqa: E402
from search_engine.evaluators.short_training import train_and_validate  # noqa: E402
from search_engine.evaluators.synflow import synflow_score  # noqa: E402
from search_engine.evaluators.torch_model import TorchEvaluator  # noqa: E402
from search_engine.nn.hybrid import build_model  # noqa: E402
from search_engine.nn.synthetic_data import make_dataset  # noqa: E402
from search_engine.registry import EVALUATORS  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace  # noqa: E402

FAST = {"resolution": 64, "repeats": 2, "max_repeats": 2, "warmup": 0}
"""Two timed passes: these tests are about the accuracy signal, not the latency."""


def _smallest(**changes: Any) -> dict[str, Any]:
    """Every variable at its first choice (the narrowest, shallowest network), with ``changes``."""
    return {var.name: var.choices[0] for var in HyTNASSpace().variables} | changes


def _model(architecture: dict[str, Any], seed: int = 0, task: str = "classification") -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(architecture, task=task, resolution=64, num_classes=10, anchors=6)


def test_every_accuracy_choice_of_the_form_has_its_objective() -> None:
    schema = {p.name: p for p in EVALUATORS.params("torch")}
    assert schema["accuracy"].choices == tuple(ACCURACY_SIGNALS)
    for choice, signal in ACCURACY_SIGNALS.items():
        built = EVALUATORS.build("torch", {"accuracy": choice}, "evaluator")
        expected = [signal.objective] if signal.objective is not None else []
        assert list(built.objectives) == [*expected, built.objectives[-1]]
        assert built.objectives[-1].name == "latency"
        assert choice in schema["accuracy"].help  # the help says what each choice measures


def test_synflow_is_finite_positive_deterministic_and_leaves_the_network_as_it_was() -> None:
    model = _model(_smallest(channels_stage1=16), task="detection")
    model.train()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    first = synflow_score(model, (3, 64, 64))
    again = synflow_score(model, (3, 64, 64))
    assert math.isfinite(first) and first > 0
    assert again == first
    assert model.training and all(value.dtype != torch.float64 for value in model.state_dict().values())
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name  # signs and batch norm untouched


def test_synflow_grows_with_width_when_nothing_else_changes() -> None:
    for seed in (0, 1):
        narrow = synflow_score(_model(_smallest(channels_stage1=8), seed), (3, 64, 64))
        wide = synflow_score(_model(_smallest(channels_stage1=32), seed), (3, 64, 64))
        assert wide > 10 * narrow, (seed, narrow, wide)


def test_synflow_of_a_linear_chain_is_the_closed_form() -> None:
    # Linear(2 -> 3) then Linear(3 -> 1), no biases, on ones: with a = |W1|, b = |W2|, R = b a 1 and
    # sum |theta dR/dtheta| = sum_ij b_i a_ij (first layer) + sum_i b_i (a 1)_i (second) = 2 R.
    first, second = torch.nn.Linear(2, 3, bias=False), torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.0, 1.0]]))
        second.weight.copy_(torch.tensor([[2.0, -1.0, 0.5]]))
    network = torch.nn.Sequential(torch.nn.Flatten(), first, second)
    total = 2.0 * 3.0 + 1.0 * 3.5 + 0.5 * 2.0  # b . (a 1) = 10.5
    assert synflow_score(network, (1, 1, 2)) == pytest.approx(2 * total)


def test_the_synflow_objective_is_the_log10_of_the_score() -> None:
    architecture = _smallest(channels_stage1=16)
    result = TorchEvaluator(**FAST, task="classification", accuracy="synflow").evaluate([architecture])[0]
    assert result.ok, result.error
    assert result.objectives is not None
    score = synflow_score(_model(architecture), (3, 64, 64))
    assert result.objectives[0] == result.metrics["synflow"] == pytest.approx(math.log10(score))


@pytest.mark.parametrize("task", ["classification", "detection"])
def test_the_size_signals_are_the_closed_form_counts(task: str) -> None:
    space = HyTNASSpace()
    architectures = space.decode(space.sample_uniform(3, np.random.default_rng(3)))
    settings = FAST | {"task": task}
    by_params = TorchEvaluator(**settings, accuracy="params").evaluate(architectures)
    by_macs = TorchEvaluator(**settings, accuracy="macs").evaluate(architectures)
    known = space.known_quantities(space.encode(architectures), TorchEvaluator(**settings).param_values())
    for i, architecture in enumerate(architectures):
        params_result, macs_result = by_params[i], by_macs[i]
        assert params_result.ok and macs_result.ok, (params_result.error, macs_result.error)
        assert params_result.objectives is not None and macs_result.objectives is not None
        built = build_model(architecture, task=task, resolution=64, num_classes=10, anchors=6)
        assert params_result.objectives[0] == sum(p.numel() for p in built.parameters())
        assert params_result.objectives[0] == known["params"][i]
        assert macs_result.objectives[0] == known["macs"][i] == macs_result.metrics["macs_total"]
        assert "accuracy_proxy" not in params_result.metrics and "val_accuracy" not in macs_result.metrics


# Short training at 16 px on 128 images: about a second per run on an idle machine.
TRAINING = {
    **FAST,
    "task": "classification",
    "resolution": 32,
    "accuracy": "trained",
    "num_classes": 4,
    "train_resolution": 16,
    "train_images": 128,
    "train_steps": 30,
    "train_batch": 16,
}


@pytest.mark.slow  # short training: seconds idle, a minute on a busy machine
def test_training_under_several_seeds_reports_their_mean_and_spread() -> None:
    architecture = _smallest(channels_stage1=16)
    result = TorchEvaluator(**TRAINING, seed=5, train_seeds=2).evaluate([architecture])[0]
    assert result.ok, result.error
    # Each run on its own, under seeds 5 and 6, on the images of seed 5.
    data = make_dataset(128, 512, 16, 4, 5)
    alone = [
        train_and_validate(
            architecture, data, num_classes=4, steps=30, batch_size=16, lr=2e-3, seed=seed
        ).val_accuracy
        for seed in (5, 6)
    ]
    per_seed = [result.metrics[f"val_accuracy_seed_{seed}"] for seed in (5, 6)]
    assert per_seed == alone
    assert len(set(alone)) > 1, alone  # the seeds really differ, so the spread means something
    assert result.objectives is not None
    assert result.objectives[0] == result.metrics["val_accuracy"] == pytest.approx(statistics.fmean(alone))
    assert result.metrics["val_accuracy_std"] == pytest.approx(statistics.stdev(alone))
    assert result.metrics["val_accuracy_std"] > 0


@pytest.mark.slow  # short training: seconds idle, a minute on a busy machine
def test_one_training_seed_reports_no_spread_and_the_same_accuracy_as_before() -> None:
    architecture = _smallest(channels_stage1=16)
    one = TorchEvaluator(**TRAINING, seed=5).evaluate([architecture])[0]
    assert one.ok, one.error
    data = make_dataset(128, 512, 16, 4, 5)
    alone = train_and_validate(architecture, data, num_classes=4, steps=30, batch_size=16, lr=2e-3, seed=5)
    assert one.metrics["val_accuracy"] == alone.val_accuracy
    assert "val_accuracy_std" not in one.metrics
    assert not any(name.startswith("val_accuracy_seed_") for name in one.metrics)
