"""Latency in ONNX Runtime: stages match eager, failures, fallback, recorded settings, post-processing."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from search_engine.errors import ConfigError  # noqa: E402
from search_engine.evaluators import onnx_runtime  # noqa: E402
from search_engine.evaluators.detection_postprocess import (  # noqa: E402
    Postprocess,
    anchor_boxes,
    decode_boxes,
    nms,
)
from search_engine.evaluators.torch_model import TorchEvaluator  # noqa: E402
from search_engine.nn.hybrid import build_model  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace  # noqa: E402
from search_engine.worker.measure import evaluate_claimed, report_payload  # noqa: E402

RESOLUTION = 64
FAST = {"resolution": RESOLUTION, "repeats": 3, "max_repeats": 3, "warmup": 1, "accuracy": "none"}
"""Three timed passes: these tests are about what is measured and recorded, not how precisely."""
FP32 = onnx_runtime.SessionSettings(threads=1, interop_threads=1, precision="fp32", opset=17)


def _architectures(n: int, seed: int) -> list[dict[str, Any]]:
    space = HyTNASSpace()
    return space.decode(space.sample_uniform(n, np.random.default_rng(seed)))


def _network(architecture: dict[str, Any], task: str) -> tuple[Any, list[tuple[str, Any]], Any]:
    """The model, its parts in execution order and an input image."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(architecture, task=task, resolution=RESOLUTION, num_classes=5, anchors=3)
    parts = [(n, getattr(model, n)) for n in ("backbone", "neck", "head", "classifier") if getattr(model, n)]
    image = torch.randn(1, 3, RESOLUTION, RESOLUTION, generator=torch.Generator().manual_seed(1))
    return model, parts, image


def _run_in_turn(stages: list[tuple[str, Any]], image: Any) -> dict[str, list[Any]]:
    value = [image.numpy()]
    outputs = {}
    for name, run in stages:
        value = run(value)
        outputs[name] = value
    return outputs


OUTPUT_CASES = [
    pytest.param(task, index, marks=[pytest.mark.slow] if index else [])
    for task in ("detection", "classification")
    for index in range(4)
]
"""One random architecture per task in the default run, three more each with ``-m slow``."""


@pytest.mark.parametrize(("task", "index"), OUTPUT_CASES)
def test_every_exported_stage_and_the_whole_graph_give_the_eager_outputs(task: str, index: int) -> None:
    architecture = _architectures(4, seed=11 if task == "detection" else 12)[index]
    model, parts, image = _network(architecture, task)
    stages, whole = onnx_runtime.open_sessions(onnx_runtime.export_network(parts, image, FP32), FP32)
    with torch.no_grad():
        eager = model.forward_stages(image)
    measured = _run_in_turn(stages, image)
    assert list(measured) == [name for name, _ in parts]
    for name, outputs in measured.items():
        expected = [t.numpy() for t in onnx_runtime._flatten(eager[name])]
        assert [o.shape for o in outputs] == [e.shape for e in expected], name
        for got, want in zip(outputs, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4, err_msg=f"{task} {name}")
    for got, want in zip(whole([image.numpy()]), measured[parts[-1][0]], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    assert not model.training  # exporting leaves the network in eval mode (batch norms frozen)


def test_int8_graphs_run_and_stay_close_to_fp32() -> None:
    model, parts, image = _network(_architectures(1, seed=3)[0], "detection")
    int8 = onnx_runtime.SessionSettings(1, 1, "int8", 17)
    exported = onnx_runtime.export_network(parts, image, int8)
    quantized_ops = {
        node.op_type for _, graph in exported.parts for node in onnx.load_from_string(graph).graph.node
    }
    assert quantized_ops & {"DynamicQuantizeLinear", "MatMulInteger", "ConvInteger"}, quantized_ops
    stages, _ = onnx_runtime.open_sessions(exported, int8)
    head = _run_in_turn(stages, image)["head"]
    with torch.no_grad():
        expected = [t.numpy() for t in onnx_runtime._flatten(model.forward_stages(image)["head"])]
    for got, want in zip(head, expected, strict=True):
        scale = float(np.abs(want).max())
        assert not np.array_equal(got, want)  # really quantized, not the fp32 graph again
        assert float(np.abs(got - want).max()) < 0.2 * scale


def test_the_measurement_records_its_runtime_version_settings_and_the_whole_graph() -> None:
    [result] = TorchEvaluator(**FAST).evaluate(_architectures(1, seed=5))
    assert result.ok, result.error
    metrics, stages = result.metrics, result.stage_latency
    assert stages is not None and list(stages) == ["backbone", "neck", "head", "postprocess"]
    assert all(v > 0 for v in stages.values())
    assert metrics["latency_runtime"] == f"ONNX Runtime {onnx_runtime.runtime_version()}"
    settings = str(metrics["latency_runtime_settings"])
    for words in ("CPU execution provider", "1 intra-op / 1 inter-op", "sequential", "fp32", "opset 17"):
        assert words in settings
    assert metrics["latency_precision"] == "fp32"
    assert float(metrics["latency_whole_graph_ms"]) > 0 and float(metrics["onnx_export_s"]) > 0
    assert "latency_fallback" not in metrics
    # a remote worker reports the words with the numbers
    payload = report_payload(result, "lease", {})
    assert payload["metrics"]["latency_runtime"] == metrics["latency_runtime"]


def test_eager_pytorch_is_labelled_as_such_and_times_no_whole_graph() -> None:
    [result] = TorchEvaluator(**FAST, runtime="eager", task="classification").evaluate(_architectures(1, 6))
    assert result.ok, result.error
    assert str(result.metrics["latency_runtime"]).startswith("eager PyTorch (fp32, unfused), torch ")
    assert "latency_whole_graph_ms" not in result.metrics and "onnx_export_s" not in result.metrics
    assert result.stage_latency is not None and list(result.stage_latency) == ["backbone", "head"]


def test_int8_is_measured_in_onnx_runtime_and_refused_for_eager() -> None:
    [result] = TorchEvaluator(**FAST, precision="int8", task="classification").evaluate(_architectures(1, 8))
    assert result.ok, result.error
    assert result.metrics["latency_precision"] == "int8"
    assert "int8" in str(result.metrics["latency_runtime_settings"])
    with pytest.raises(ConfigError, match="eager PyTorch runs fp32"):
        TorchEvaluator(runtime="eager", precision="int8")


def test_an_opset_without_attention_is_refused_in_the_settings() -> None:
    with pytest.raises(ConfigError, match="minimum 14"):
        TorchEvaluator(opset=13)


def _failing_export(**params: Any) -> TorchEvaluator:
    """An evaluator whose exports fail for real: opset 13 has no attention (the settings refuse it,
    so it is set past them, as an architecture the exporter cannot handle would fail)."""
    evaluator = TorchEvaluator(**FAST, task="classification", **params)
    object.__setattr__(evaluator, "opset", 13)
    return evaluator


def test_an_architecture_that_fails_to_export_is_a_failed_evaluation_with_the_reason() -> None:
    [result] = _failing_export().evaluate(_architectures(1, seed=9))
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("ONNX export of the backbone failed")
    assert "scaled_dot_product_attention" in result.error


def test_eager_fallback_measures_it_eagerly_and_says_why() -> None:
    [result] = _failing_export(eager_fallback=True).evaluate(_architectures(1, seed=9))
    assert result.ok, result.error
    assert str(result.metrics["latency_runtime"]).startswith("eager PyTorch (fp32, unfused)")
    fallback = str(result.metrics["latency_fallback"])
    assert (
        fallback.startswith("ONNX export of the backbone failed") and "measured in eager PyTorch" in fallback
    )
    assert float(result.metrics["latency_ms"]) > 0


def test_a_worker_without_onnx_runtime_refuses_the_work_at_once_saying_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed: importing it fails
    claim = {
        "evaluator": {"name": "torch", "params": FAST},
        "architecture": _architectures(1, seed=2)[0],
        "objectives": [{"name": "latency"}],
    }
    result = evaluate_claimed(claim)
    assert not result.ok and result.error is not None
    assert result.error.startswith("ONNX Runtime is not installed on this machine")
    assert "choose the eager PyTorch runtime" in result.error
    [eager] = TorchEvaluator(**FAST, runtime="eager", task="classification").evaluate([claim["architecture"]])
    assert eager.ok, eager.error  # eager still measures on that machine


def test_zero_offsets_decode_to_the_anchors_and_anchors_sit_on_cell_centres() -> None:
    grid = anchor_boxes(2, 2, stride=16.0, anchors=2)  # (2 * 2 * 2, 4): row, column, anchor
    assert grid.shape == (8, 4)
    np.testing.assert_allclose(
        grid[:, :2], [[8, 8], [8, 8], [24, 8], [24, 8], [8, 24], [8, 24], [24, 24], [24, 24]]
    )
    np.testing.assert_allclose(grid[0, 2:], [64, 64])  # square, 4 strides
    np.testing.assert_allclose(grid[1, 2] / grid[1, 3], 2.0, rtol=1e-6)  # ratio 2
    corners = decode_boxes(np.zeros((1, 4), np.float32), np.array([[50, 40, 20, 10]], np.float32))
    np.testing.assert_allclose(corners, [[40, 35, 60, 45]])
    moved = decode_boxes(np.array([[1, 0, 0, 0]], np.float32), np.array([[50, 40, 20, 10]], np.float32))
    np.testing.assert_allclose(moved, [[42, 35, 62, 45]])  # 0.1 * dx * width


def test_nms_removes_the_box_overlapping_a_better_one() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 2]  # IoU(0, 1) = 81 / 119
    assert nms(boxes, scores, iou_threshold=0.7).tolist() == [0, 1, 2]
    assert nms(boxes, scores, iou_threshold=0.5, limit=1).tolist() == [0]


def test_postprocess_decodes_a_hand_made_head_output_and_suppresses_per_class() -> None:
    # One 2 x 2 level at stride 8 (16 px input), one anchor per cell, two classes.
    decode = Postprocess(((2, 2),), image_size=16, anchors=1, num_classes=2, score_threshold=0.5)
    logits = np.full((1, 2, 2, 2), -10.0, np.float32)  # (1, A * K, H, W): everything unlikely
    logits[0, 0, 0, 0] = 3.0  # class 0 at cell (0, 0)
    logits[0, 0, 0, 1] = 2.0  # class 0 at cell (0, 1): its box is moved onto the first one
    logits[0, 1, 0, 1] = 1.0  # class 1 at cell (0, 1): same box, other class, kept
    offsets = np.zeros((1, 4, 2, 2), np.float32)  # (1, A * 4, H, W)
    offsets[0, 0, 0, 1] = -8.0 / (0.1 * 32.0)  # dx moving cell (0, 1)'s centre 8 px left
    found = decode([logits], [offsets])
    assert found.labels.tolist() == [0, 1]
    np.testing.assert_allclose(found.scores, [1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(-1.0))], rtol=1e-6)
    np.testing.assert_allclose(found.boxes, [[-12, -12, 20, 20], [-12, -12, 20, 20]], atol=1e-4)
