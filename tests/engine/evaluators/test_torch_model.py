"""The torch evaluator: latency, stage sums, params, MACs, NASWOT, short training, time limit, failures."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from search_engine.errors import ConfigError  # noqa: E402
from search_engine.evaluators.naswot import naswot_score  # noqa: E402
from search_engine.evaluators.torch_model import TorchEvaluator  # noqa: E402
from search_engine.registry import EVALUATORS  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace, stage_channels  # noqa: E402
from search_engine.types import EvaluationResult  # noqa: E402

FAST = {"resolution": 64, "repeats": 3, "max_repeats": 3, "warmup": 1, "batch_size": 4}
"""Three timed passes, no more: these tests are about what is measured, not how precisely."""


def _extreme(index: int) -> dict[str, Any]:
    """Every variable at its first (index 0) or last (index -1) choice: the narrowest or widest network."""
    return {var.name: var.choices[index] for var in HyTNASSpace().variables}


@pytest.fixture(scope="module")
def random_architectures() -> list[dict[str, Any]]:
    space = HyTNASSpace()
    return space.decode(space.sample_uniform(3, np.random.default_rng(7)))


@pytest.fixture(scope="module")
def detection_results(random_architectures: list[dict[str, Any]]) -> list[EvaluationResult]:
    # Up to 15 passes: the stage medians and the end-to-end median come from the same passes, and
    # enough of them keep one disturbed pass from setting either. Eager PyTorch: its stages take
    # milliseconds at 64 px, where a busy machine's scheduling hiccups (a few ms) would swamp ONNX
    # Runtime's sub-millisecond ones (test_onnx_runtime.py covers that runtime).
    return EVALUATORS.build("torch", FAST | {"max_repeats": 15, "runtime": "eager"}).evaluate(
        random_architectures
    )


def test_registry_builds_a_torch_evaluator_with_accuracy_proxy_and_latency() -> None:
    evaluator = EVALUATORS.build("torch", FAST)
    assert isinstance(evaluator, TorchEvaluator)
    assert [(o.name, o.direction, o.unit) for o in evaluator.objectives] == [
        ("accuracy_proxy", "max", "score"),
        ("latency", "min", "ms"),
    ]
    assert isinstance(evaluator.default_space(), HyTNASSpace)


def test_latencies_are_positive_ordered_and_stages_add_up_to_the_end_to_end_time(
    detection_results: list[EvaluationResult],
) -> None:
    for result in detection_results:
        assert result.ok, result.error
        assert result.objectives is not None and result.stage_latency is not None
        metrics = result.metrics
        assert result.objectives[1] == metrics["latency_ms"] > 0
        assert 0 < metrics["latency_p10_ms"] <= metrics["latency_ms"] <= metrics["latency_p90_ms"]
        assert set(result.stage_latency) == {"backbone", "neck", "head", "postprocess"}
        assert all(v > 0 for v in result.stage_latency.values())
        stage_sum = sum(result.stage_latency.values())
        assert 0.5 * metrics["latency_ms"] <= stage_sum <= 2.0 * metrics["latency_ms"]


def test_params_and_macs_are_per_stage_positive_and_sum_to_the_total(
    detection_results: list[EvaluationResult],
) -> None:
    for result in detection_results:
        metrics = result.metrics
        for stage in ("backbone", "neck", "head"):
            assert metrics[f"params_{stage}"] > 0
            assert metrics[f"macs_{stage}"] > 0
        assert metrics["params_total"] == sum(metrics[f"params_{s}"] for s in ("backbone", "neck", "head"))
        assert metrics["macs_total"] == sum(metrics[f"macs_{s}"] for s in ("backbone", "neck", "head"))
        assert metrics["peak_rss_mb"] > 0 and metrics["peak_rss_increase_mb"] >= 0


def test_a_wider_deeper_architecture_has_more_params_and_macs() -> None:
    evaluator = TorchEvaluator(**FAST, accuracy="none")
    narrow, wide = evaluator.evaluate([_extreme(0), _extreme(-1)])
    assert narrow.ok and wide.ok, (narrow.error, wide.error)
    for name in ("params_backbone", "macs_backbone", "params_total", "macs_total"):
        assert wide.metrics[name] > narrow.metrics[name]


def test_classification_reports_the_classifier_as_the_head_stage_and_linear_macs_match_a_hand_count() -> None:
    architecture = _extreme(0)
    result = TorchEvaluator(**FAST, task="classification", num_classes=7).evaluate([architecture])[0]
    assert result.ok, result.error
    assert result.stage_latency is not None and set(result.stage_latency) == {"backbone", "head"}
    assert result.stage_latency["head"] == result.metrics["latency_classifier_ms"] > 0
    assert "params_neck" not in result.metrics and "macs_head" not in result.metrics
    c5 = stage_channels(architecture)[-1]
    assert result.metrics["macs_classifier"] == c5 * 7  # pooled features (c5) x linear weights (c5, 7)
    assert result.metrics["params_classifier"] == c5 * 7 + 7


def test_naswot_score_is_finite_reproducible_for_a_seed_and_differs_across_seeds(
    random_architectures: list[dict[str, Any]],
    detection_results: list[EvaluationResult],
) -> None:
    architecture = random_architectures[0]
    first = detection_results[0].metrics["accuracy_proxy"]
    again = TorchEvaluator(**FAST).evaluate([architecture])[0].metrics["accuracy_proxy"]
    other = TorchEvaluator(**FAST, seed=1).evaluate([architecture])[0].metrics["accuracy_proxy"]
    assert math.isfinite(first)
    assert again == first
    assert other != first
    assert detection_results[0].objectives is not None and detection_results[0].objectives[0] == first


def test_naswot_score_matches_the_hamming_kernel_computed_by_hand() -> None:
    inputs = torch.tensor(
        [[1.0, -1.0, 2.0, -3.0], [1.0, 1.0, -2.0, -3.0], [-1.0, -1.0, -2.0, 3.0]]
    )  # (3 inputs, 4 units)
    codes = (inputs.numpy() > 0).astype(float)
    hamming = np.abs(codes[:, None, :] - codes[None, :, :]).sum(axis=2)  # (3, 3)
    expected = np.linalg.slogdet(4.0 - hamming)[1]  # K = N_A - Hamming distance
    score = naswot_score(torch.nn.Sequential(torch.nn.ReLU()), inputs)
    assert score == pytest.approx(expected, rel=1e-12)
    identical = naswot_score(torch.nn.Sequential(torch.nn.ReLU()), inputs[[0, 0, 1]])
    assert identical == float("-inf")  # two equal codes: singular kernel


def test_accuracy_none_reports_latency_only() -> None:
    evaluator = TorchEvaluator(**FAST, accuracy="none")
    assert [o.name for o in evaluator.objectives] == ["latency"]
    result = evaluator.evaluate([_extreme(0)])[0]
    assert result.ok and result.objectives == (result.metrics["latency_ms"],)
    assert "accuracy_proxy" not in result.metrics


def test_a_tiny_time_limit_fails_with_the_reason_and_restores_threads() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = TorchEvaluator(**FAST, time_limit=1e-6, threads=1).evaluate([_extreme(0)])[0]
        assert not result.ok
        assert result.error == "exceeded the time limit of 1e-06 s"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_timeouts_and_out_of_memory_fail_alone_and_the_batch_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import search_engine.nn.hybrid as hybrid

    slow, too_big, fine = _extreme(0), _extreme(0), _extreme(0)
    slow["channels_stage1"], too_big["channels_stage1"] = 16, 24
    threads_seen: list[int] = []
    real_build = hybrid.build_model

    # The limit is generous so that the fine architecture finishes inside it on a busy machine too;
    # the slow one sleeps past it.
    limit = 10.0

    def build(architecture: dict[str, Any], **kwargs: Any) -> Any:
        threads_seen.append(torch.get_num_threads())
        if architecture == slow:
            time.sleep(limit + 0.5)
        if architecture == too_big:
            raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 1 TB")
        return real_build(architecture, **kwargs)

    monkeypatch.setattr(hybrid, "build_model", build)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        evaluator = TorchEvaluator(**FAST, time_limit=limit, threads=1)
        timed_out, out_of_memory, ok = evaluator.evaluate([slow, too_big, fine])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert timed_out.error == "exceeded the time limit of 10 s"
    assert out_of_memory.error is not None and out_of_memory.error.startswith("ran out of memory: ")
    assert ok.ok, ok.error
    assert threads_seen == [1, 1, 1]


def test_an_architecture_outside_the_space_fails_with_the_offending_value() -> None:
    architecture = _extreme(0) | {"patch_stage3": 3}
    result = TorchEvaluator(**FAST).evaluate([architecture])[0]
    assert not result.ok and result.error is not None and "patch_stage3" in result.error


# Short training at 16 px on 128 images: a fraction of a second per run.
TINY_TRAINING = {
    **FAST,
    "task": "classification",
    "resolution": 32,
    "accuracy": "trained",
    "num_classes": 4,
    "train_resolution": 16,
    "train_images": 128,
    "train_steps": 20,
    "train_batch": 16,
}


def test_trained_accuracy_is_a_percentage_to_maximise_beside_latency() -> None:
    evaluator = EVALUATORS.build("torch", {"accuracy": "trained"})
    assert [(o.name, o.direction, o.unit) for o in evaluator.objectives] == [
        ("accuracy", "max", "%"),
        ("latency", "min", "ms"),
    ]


def test_trained_accuracy_needs_a_class_count_the_synthetic_task_offers() -> None:
    for num_classes in (1, 11):
        with pytest.raises(ConfigError) as excinfo:
            TorchEvaluator(accuracy="trained", num_classes=num_classes)
        assert excinfo.value.field == "evaluator.params.num_classes"
    TorchEvaluator(accuracy="naswot", num_classes=1000)  # only the trained accuracy is limited


def test_a_trained_evaluation_reports_its_accuracy_and_is_repeatable_for_a_seed() -> None:
    architecture = _extreme(0) | {"channels_stage1": 16}
    global_state = torch.random.get_rng_state()
    first = TorchEvaluator(**TINY_TRAINING).evaluate([architecture])[0]
    again = TorchEvaluator(**TINY_TRAINING).evaluate([architecture])[0]
    other = TorchEvaluator(**TINY_TRAINING, seed=1).evaluate([architecture])[0]
    assert torch.equal(torch.random.get_rng_state(), global_state)
    assert first.ok and again.ok and other.ok, (first.error, again.error, other.error)
    assert first.objectives == (first.metrics["val_accuracy"], first.metrics["latency_ms"])
    assert 0.0 <= first.metrics["val_accuracy"] <= 100.0
    assert first.metrics["train_seconds"] > 0 and math.isfinite(first.metrics["train_final_loss"])
    for name in ("val_accuracy", "train_final_loss"):
        assert again.metrics[name] == first.metrics[name]
    assert other.metrics["train_final_loss"] != first.metrics["train_final_loss"]
    assert "accuracy_proxy" not in first.metrics


def test_training_past_the_time_limit_fails_naming_the_limit_and_restores_threads() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        evaluator = TorchEvaluator(**TINY_TRAINING | {"train_steps": 100000, "time_limit": 3.0, "threads": 1})
        result = evaluator.evaluate([_extreme(0)])[0]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert not result.ok and result.error is not None
    assert result.error.startswith("exceeded the time limit of 3 s (while training, after ")
    assert result.error.endswith(" of 100000 steps)")
    assert 2.9 < result.seconds < 10.0
