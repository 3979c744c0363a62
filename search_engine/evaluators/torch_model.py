"""Torch evaluator: builds the real hybrid network of a HyT-NAS architecture and times it on this machine.

``space`` names the study's space, whose networks it builds: the HyT-NAS space (``hytnas``) or its
extension that reaches MobileViT (``hytnas-mobilevit``, ``spaces/mobilevit.py``); with
``measure_references`` a study of the latter also measures MobileViT-XXS, XS and S
(``mobilevit.REFERENCES``) as part of its initial design.

Latency is measured the way a model is deployed (``runtime``): by default each part of the network
(backbone, neck, head, or a classifier) is exported to ONNX and run in ONNX Runtime
(:mod:`.onnx_runtime`: CPU execution provider, ``threads`` intra-op and ``interop_threads`` inter-op
threads, sequential execution, every graph optimisation, fp32 or ``int8`` dynamic quantization);
``eager`` times the PyTorch modules themselves, fp32 and unfused, labelled as such. Either way the
batch is one image, ``warmup`` untimed passes come first (in ONNX Runtime they are also the sessions'
warm-up), then timed passes. Each timed pass runs the stages one after another (backbone on the
image, neck on the backbone's features, head on the neck's features, and for detection with
``postprocess`` the box decoding and non-maximum suppression of :mod:`.detection_postprocess`, in
numpy), each timed on its own with ``time.perf_counter``; run in turn they are the whole pipeline,
so a pass's end-to-end time is their sum and no separate end-to-end pass is needed. In ONNX Runtime
each pass also times the whole network joined into one graph (``whole_graph``), which the runtime may
fuse across stage boundaries, plus the same pass's post-processing: ``latency_whole_graph_ms``
compares with ``latency_ms`` directly. Medians are reported, with the 10th and 90th percentiles of
the end-to-end time as the spread. The runtime, its version and its settings are recorded with every
measurement (``latency_runtime``, ``latency_runtime_settings``). An architecture the exporter or the
runtime refuses fails with the reason, or with ``eager_fallback`` is measured eagerly and says so
(``latency_fallback``); onnxruntime missing on the measuring machine fails the evaluation at once,
before anything is built, saying so.

Measurement hygiene (:mod:`.measurement`): the warm-up and timed passes run under the machine-wide
measurement lock, so however many workers the machine runs one network is timed at a time (waiting
for it does not count against the time limit), optionally pinned to ``cpus``. Passes go on after
``repeats`` until the median end-to-end time is known within ``target_spread`` (the half-width of
its 95 % confidence interval, relative), up to ``max_repeats``. The machine's state after timing
(load, clock, governor, temperature, throttling, where the platform says) is recorded with the
measurement, and a measurement that missed the target, ran with more runnable tasks than CPUs or
on a throttled board is flagged ``latency_noisy``.

Sizes come from the closed form of ``search_engine.spaces.hytnas_counts`` (the network is not run
to count them): parameters, multiply-adds *including attention's* ``Q K^T`` and ``A V`` (which
``torch.utils.flop_counter.FlopCounterMode`` counts as zero when ``scaled_dot_product_attention``
takes a fused CPU kernel), and peak activation memory per stage. A test holds the closed form to a
per-operation count of the built networks.

Accuracy objective, one of (declared once, with its objective, in :mod:`.accuracy_signals`):

- ``naswot``: the training-free score of Mellor et al., ICML 2021 (:mod:`.naswot`), objective
  ``accuracy_proxy`` (a unitless score); milliseconds per architecture.
- ``synflow``: the training-free SynFlow score (Tanaka et al. 2020; Abdelfattah et al. 2021,
  :mod:`.synflow`), objective ``synflow`` (its log10); one float64 forward and backward pass.
- ``params`` / ``macs``: the closed-form parameter count or multiply-adds, maximised as an accuracy
  stand-in (objectives ``params``, ``macs``); nothing is run.
- ``trained``: validation accuracy in percent of the architecture's classification network after a
  short training run on a synthetic task generated from the seed (:mod:`.short_training`), objective
  ``accuracy``; seconds to minutes per architecture, all inside ``time_limit``. With ``train_seeds``
  k > 1 it trains k times, under seeds ``seed`` .. ``seed + k - 1`` (weights and batch order; the
  images stay those of ``seed``), and reports the mean, with the spread as metrics. It is a proxy
  too: it ranks architectures by how fast they learn at small scale, not by their ImageNet accuracy.
- ``none``: latency is the only objective.

Reproducibility: weights are initialised under ``seed`` and the images drawn from a ``torch.Generator``
seeded from (``seed``, the architecture's key), both without touching torch's global random state, so
the same architecture gets the same weights, inputs and score in any process. The trained accuracy's
data set, initial weights and batch order come from ``seed`` alone: every architecture of a study is
trained on the same images in the same order.

Defaults stay 224 px and 10 classes rather than a COCO-like 320 px and 80: the short training
run's synthetic task has at most ``MAX_CLASSES`` (10) classes, so 80 would make ``trained``
accuracy invalid until changed, and the device budgets users set (and the tests of how many
architectures meet them) are stated at 224 px. A detection study meant to match a common setting
sets ``num_classes=80`` and ``resolution=320``.

The time limit is cooperative: it is checked after building, between passes and between training
steps, so one pass or step in flight finishes before the evaluation is declared over the limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from search_engine.errors import ConfigError
from search_engine.evaluators import measurement, onnx_runtime
from search_engine.evaluators.accuracy_signals import ACCURACY_SIGNALS, accuracy_help
from search_engine.evaluators.base import Evaluator
from search_engine.evaluators.detection_postprocess import for_network
from search_engine.evaluators.naswot import naswot_score
from search_engine.evaluators.short_training import (
    VAL_IMAGES,
    TrainingDiverged,
    seeds_metrics,
    train_and_validate,
)
from search_engine.evaluators.synflow import synflow_score
from search_engine.nn.synthetic_data import MAX_CLASSES
from search_engine.objectives import Objective
from search_engine.params import param
from search_engine.spaces.generic import GenericSpace
from search_engine.types import NETWORK_STAGES, Architecture, EvaluationResult, MetricValue

if TYPE_CHECKING:
    import torch

    from search_engine.nn.synthetic_data import SyntheticImages

PARTS = (
    *NETWORK_STAGES,
    "classifier",
)  # execution order; a model has backbone + neck + head or backbone + classifier
# The stage each part's latency is reported as: a classification network's classifier is its head.
STAGE_OF_PART = {
    **{stage: stage for stage in NETWORK_STAGES},
    "classifier": "head",
    "postprocess": "postprocess",
}

RUNTIME_LABELS = {"onnxruntime": "ONNX Runtime", "eager": "eager PyTorch (fp32, unfused)"}
"""What each ``runtime`` is called where a measurement says what it was made in."""

SIZE_METRICS: dict[str, tuple[str, str]] = {
    "params": ("params", "params_total"),
    "macs": ("macs", "macs_total"),
    "peak_activation_bytes": ("activation_memory", "peak_activation_bytes"),
}
"""Metric prefix of each closed-form size -> (its ``hytnas_counts`` quantity, the whole network's metric).

A part's metric is ``<prefix>_<part>`` (``macs_backbone``, ``peak_activation_bytes_neck``); the whole
network's parameters and multiply-adds are sums over its parts, its peak activation memory the
largest of theirs.
"""


@dataclass(eq=False)
class TorchEvaluator(Evaluator):
    """Real PyTorch model per architecture; objectives an accuracy (max) and ``latency`` (min, ms).

    The accuracy is the objective of the ``accuracy`` setting's signal (``ACCURACY_SIGNALS``):
    ``accuracy_proxy`` (NASWOT score), ``synflow`` (log10 score), ``params``, ``macs`` (sizes as
    stand-ins) or ``accuracy`` (%, after short training), or
    absent with ``accuracy="none"``. ``stage_latency`` holds the median ms of ``backbone``, ``neck``
    and ``head`` for detection, and of ``backbone`` and ``head`` for classification, whose head is the
    pooling + linear classifier (also reported as ``latency_classifier_ms``).

    ``metrics`` holds:

    - latency: ``latency_ms`` (end-to-end median), ``latency_p10_ms``, ``latency_p90_ms``,
      ``latency_passes`` (timed passes made), ``latency_spread`` (the median's relative confidence
      half-width; absent after a single pass), ``latency_noisy`` (1: missed ``target_spread`` at
      ``max_repeats``, the load exceeded the machine's CPUs, or the board was throttled; else 0),
      ``lock_wait_s`` (seconds waited for the machine's measurement lock), ``torch_threads`` and
      ``torch_interop_threads`` (the counts torch really used: inter-op threads can be set only once per
      process, so a later request is reported as not granted rather than claimed);
    - how it was measured, in words: ``latency_runtime`` (``ONNX Runtime 1.32.0``, or ``eager PyTorch
      (fp32, unfused), torch <version>``), ``latency_runtime_settings`` (execution provider, threads,
      execution mode, graph optimisations, precision, opset), ``latency_precision`` (ONNX Runtime)
      and ``latency_fallback`` (why an architecture was measured eagerly instead, with
      ``eager_fallback``); in numbers ``latency_whole_graph_ms`` (ONNX Runtime, ``whole_graph``) and
      ``onnx_export_s`` (seconds spent exporting). ``stage_latency`` of a detector has
      ``postprocess`` too (with ``postprocess``: box decoding and NMS, included in ``latency_ms``);
    - the machine's state after timing, ``machine_<field>`` of :class:`.measurement.Conditions`
      (each only where the platform exposes it);
    - sizes from the closed form (``SIZE_METRICS``): ``params_<part>`` and ``params_total``,
      ``macs_<part>`` and ``macs_total`` (multiply-adds of one image, attention included), and
      ``peak_activation_bytes_<part>`` and ``peak_activation_bytes`` (the largest input + output of
      any one operation, fp32: what a device's activation memory must hold at least), where a part
      is ``backbone``, ``neck``, ``head`` or ``classifier``;
    - ``peak_rss_mb`` and ``peak_rss_increase_mb``: the *measuring process's* resident memory (the
      interpreter, torch, everything it ran before; see ``_peak_rss_mb``), not the network's;
    - ``accuracy_proxy`` or ``synflow`` when computed; and after training ``val_accuracy`` (%, the
      mean over the training seeds), ``train_final_loss`` and ``train_seconds`` (mean loss, total
      time), and with two seeds or more ``val_accuracy_std`` (sample standard deviation over the
      seeds, percentage points) and ``val_accuracy_seed_<s>`` (the accuracy under seed ``s``).
    """

    DISPATCH: ClassVar[str] = "queue"  # seconds per architecture: one job each, on any worker

    task: Literal["detection", "classification"] = param(
        "detection", "Detection (backbone, neck, head) or classification."
    )
    resolution: int = param(224, "Input image side in pixels.", low=32, high=1024)
    num_classes: int = param(10, "Number of classes the head predicts.", low=1, high=10000)
    anchors: int = param(6, "Anchors per feature-map cell (detection head).", low=1, high=64)
    runtime: Literal["onnxruntime", "eager"] = param(
        "onnxruntime",
        "Runtime the latency is measured in: ONNX Runtime (each stage exported to ONNX, CPU execution "
        "provider, as deployed; onnxruntime must be installed where it is measured) or eager PyTorch "
        "(fp32, unfused: how it trains, not how a device runs it).",
    )
    precision: Literal["fp32", "int8"] = param(
        "fp32",
        "Numbers in ONNX Runtime: fp32, or int8 by ONNX Runtime's dynamic quantization (measured: "
        "int8 is not faster on every CPU). Eager PyTorch runs fp32.",
    )
    opset: int = param(
        17, "ONNX opset the stages are exported with (14 at least: attention).", low=14, high=20
    )
    whole_graph: bool = param(
        True,
        "ONNX Runtime: also time the whole network as one graph, which the runtime may fuse across "
        "stage boundaries (latency_whole_graph_ms).",
    )
    eager_fallback: bool = param(
        False,
        "When an architecture fails to export to ONNX or to run in ONNX Runtime, measure it in eager "
        "PyTorch instead (and say so); otherwise its evaluation fails with the reason.",
    )
    postprocess: bool = param(
        True,
        "Detection: time box decoding and non-maximum suppression (numpy) as the stage postprocess, "
        "part of the end-to-end latency.",
    )
    score_threshold: float = param(
        0.05, "Post-processing: lowest class score a box is kept with.", low=1e-6, high=0.999999
    )
    iou_threshold: float = param(
        0.5, "Post-processing: overlap (IoU) above which NMS drops the lower-scoring box.", low=0.0, high=1.0
    )
    max_detections: int = param(100, "Post-processing: boxes kept per image.", low=1, high=10000)
    threads: int = param(
        1,
        "Torch threads during measurement (restored afterwards); ONNX Runtime's intra-op threads.",
        low=1,
        high=256,
    )
    interop_threads: int = param(
        1,
        "Torch inter-op threads; fixed once per process (a worker's first evaluation sets it, a "
        "different value later is reported as not granted).",
        low=1,
        high=256,
    )
    cpus: list[int] = param(
        [],
        "CPUs (numbers, e.g. [2, 3]) the measuring thread is pinned to while timing (Linux); empty: "
        "wherever the system schedules it.",
    )
    warmup: int = param(3, "Untimed passes before timing.", low=0, high=1000)
    repeats: int = param(
        10, "Timed passes at least; medians and percentiles are over all passes.", low=1, high=10000
    )
    max_repeats: int = param(
        30,
        "Timed passes at most while the median is not yet known within the target spread (never "
        "fewer than the minimum above).",
        low=1,
        high=10000,
    )
    target_spread: float = param(
        0.03,
        "Keep timing until the median latency is known within this fraction (half-width of its 95 % "
        "confidence interval); a measurement that misses it is flagged noisy.",
        low=0.001,
        high=1.0,
    )
    time_limit: float = param(
        120.0,
        "Seconds allowed per architecture (build, measure, train; waiting for the machine's "
        "measurement lock not counted); beyond it the evaluation fails.",
        low=1e-6,
        high=86400.0,
    )
    accuracy: str = param("naswot", accuracy_help(), choices=tuple(ACCURACY_SIGNALS))
    batch_size: int = param(16, "Images in the batch the NASWOT score is computed on.", low=2, high=1024)
    train_resolution: int = param(32, "Image side for short training (trained accuracy).", low=16, high=512)
    train_steps: int = param(200, "Optimiser steps of short training.", low=1, high=100000)
    train_batch: int = param(32, "Images per short-training step.", low=2, high=4096)
    train_images: int = param(
        2048, f"Synthetic training images (validation: {VAL_IMAGES}).", low=16, high=200000
    )
    train_lr: float = param(
        2e-3, "Peak AdamW learning rate of short training (cosine decay).", low=1e-6, high=1.0
    )
    train_seeds: int = param(
        1,
        "Short training runs per architecture, under seeds seed .. seed + k - 1 (weights and batch "
        "order); the objective is their mean accuracy, the spread is reported beside it.",
        low=1,
        high=20,
    )
    seed: int = param(0, "Seed of the weights, input images and training data.", low=0, high=2**31 - 1)
    space: Literal["hytnas", "hytnas-mobilevit"] = param(
        "hytnas",
        "Search space whose networks are built: HyT-NAS (23 variables) or HyT-NAS extended to reach "
        "MobileViT (27 variables: transformer and FFN widths as ratios, MobileViT's final 1x1 "
        "convolution, maps resized rather than padded to the patch). The study searches this space.",
    )
    measure_references: bool = param(
        False,
        "Also measure MobileViT-XXS, XS and S, as part of the initial design, to show beside the "
        "front (the extended space only).",
    )
    objectives: tuple[Objective, ...] = field(init=False, repr=False)
    _space: GenericSpace = field(init=False, repr=False)
    _training_data: SyntheticImages | None = field(init=False, repr=False, default=None)
    """Generated on first use, then shared by every trained evaluation."""
    read_conditions: measurement.ConditionsReader = field(
        init=False, repr=False, default_factory=lambda: measurement.read_conditions
    )
    """Reads the machine's state after timing; not a parameter: a test sets its own (a fake high load)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._space = _network_space(self.space)
        latency = Objective("latency", "min", "ms")
        accuracy_objective = ACCURACY_SIGNALS[self.accuracy].objective
        self.objectives = (accuracy_objective, latency) if accuracy_objective else (latency,)

    @classmethod
    def check_params(cls, values: Mapping[str, Any], field: str) -> None:
        cpus = values["cpus"]
        if not isinstance(cpus, list) or not all(
            isinstance(cpu, int) and not isinstance(cpu, bool) and cpu >= 0 for cpu in cpus
        ):
            raise ConfigError(f"{field}.cpus", f"expected a list of CPU numbers (0, 1, ...), got {cpus!r}")
        if len(set(cpus)) != len(cpus):
            raise ConfigError(f"{field}.cpus", f"CPUs are listed more than once: {cpus!r}")
        if values["runtime"] == "eager" and values["precision"] != "fp32":
            raise ConfigError(
                f"{field}.precision", "int8 is measured in ONNX Runtime; eager PyTorch runs fp32 only"
            )
        if values["measure_references"] and values["space"] != "hytnas-mobilevit":
            raise ConfigError(
                f"{field}.measure_references",
                "MobileViT-XXS, XS and S are architectures of the hytnas-mobilevit space only",
            )
        if values["accuracy"] == "trained" and not 2 <= values["num_classes"] <= MAX_CLASSES:
            raise ConfigError(
                f"{field}.num_classes",
                f"the synthetic training task has 2 to {MAX_CLASSES} classes, got {values['num_classes']}",
            )

    def default_space(self) -> GenericSpace:
        """The space named by ``space``: the one whose architectures this evaluator builds."""
        return self._space

    @classmethod
    def required_space(cls, params: Mapping[str, Any]) -> str | None:
        """The ``space`` parameter: a study of this evaluator must search that space."""
        return str(params["space"])

    @classmethod
    def reference_architectures(cls, params: Mapping[str, Any]) -> dict[str, Architecture]:
        """MobileViT-XXS, XS and S when ``measure_references`` is on (name -> architecture); else none."""
        if not params.get("measure_references"):
            return {}
        from search_engine.spaces.mobilevit import REFERENCES

        return dict(REFERENCES)

    def _evaluate_one(self, architecture: Architecture) -> EvaluationResult:
        import torch

        start = time.perf_counter()
        if self.runtime == "onnxruntime":
            try:  # before anything is built: a worker without the runtime refuses the work at once
                onnx_runtime.runtime_version()
            except onnx_runtime.RuntimeUnavailable as exc:
                return EvaluationResult.failure(str(exc), time.perf_counter() - start)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._measure(architecture, measurement.Budget(start, self.time_limit))
        except measurement.TimeLimitExceeded as exc:
            message = f"exceeded the time limit of {self.time_limit:g} s"
            if exc.args and exc.args[0]:
                message += f" ({exc.args[0]})"  # what was running: generating images, training
        except (TrainingDiverged, measurement.MeasurementSetupError, onnx_runtime.RuntimeFailure) as exc:
            message = str(exc)
        except MemoryError:
            message = "ran out of memory"
        except RuntimeError as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "out of memory" in text.lower() or "not enough memory" in text.lower():
                message = f"ran out of memory: {text}"
            else:
                message = f"PyTorch raised RuntimeError: {text}"
        finally:
            torch.set_num_threads(previous_threads)
        return EvaluationResult.failure(message, time.perf_counter() - start)

    def _measure(self, architecture: Architecture, budget: measurement.Budget) -> EvaluationResult:
        import torch

        from search_engine.nn.hybrid import build_model

        check_time = budget.check
        rss_before = _peak_rss_mb()
        key = self._space.key(architecture)  # raises ValueError on a value outside the space
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = build_model(
                dict(architecture),
                task=self.task,
                resolution=self.resolution,
                num_classes=self.num_classes,
                anchors=self.anchors,
            )
        check_time()
        generator = torch.Generator().manual_seed(_input_seed(self.seed, key))
        image = torch.randn(1, 3, self.resolution, self.resolution, generator=generator)  # (1, 3, R, R)
        stages = [(name, getattr(model, name)) for name in PARTS if getattr(model, name, None) is not None]
        stage_ms, metrics = self._time(stages, image, budget)
        metrics.update(self._sizes(architecture, [name for name, _ in stages]))

        latency = float(metrics["latency_ms"])
        objectives: tuple[float, ...] = (latency,)
        if self.accuracy == "naswot":
            check_time()
            images = torch.randn(
                self.batch_size, 3, self.resolution, self.resolution, generator=generator
            )  # (batch, 3, R, R)
            score = naswot_score(model, images)
            if not np.isfinite(score):
                message = "NASWOT kernel is singular: two input images share an activation code"
                return EvaluationResult.failure(message, budget.elapsed())
            metrics["accuracy_proxy"] = score
        elif self.accuracy == "synflow":
            check_time()
            flow = synflow_score(model, image.shape)
            if not (np.isfinite(flow) and flow > 0):
                return EvaluationResult.failure(f"SynFlow score is {flow:g}, not positive", budget.elapsed())
            metrics["synflow"] = float(np.log10(flow))
        elif self.accuracy == "trained":
            metrics.update(self._train(architecture, check_time))
        if self.accuracy != "none":  # params and macs read the closed-form sizes above
            objectives = (float(metrics[ACCURACY_SIGNALS[self.accuracy].metric]), latency)
        check_time()
        peak = _peak_rss_mb()
        metrics["peak_rss_mb"] = peak
        metrics["peak_rss_increase_mb"] = max(peak - rss_before, 0.0)
        return EvaluationResult(
            objectives=objectives,
            stage_latency={STAGE_OF_PART[name]: statistics.median(ms) for name, ms in stage_ms.items()},
            metrics=metrics,
            seconds=budget.elapsed(),
        )

    def _time(
        self,
        parts: list[tuple[str, torch.nn.Module]],
        image: torch.Tensor,
        budget: measurement.Budget,
    ) -> tuple[dict[str, list[float]], dict[str, MetricValue]]:
        """Per-stage pass times (ms) and the latency metrics, timed in ``runtime`` under the machine's lock.

        Exporting to ONNX happens before the lock (it is building, not timing); the sessions are made
        under it, inside the CPU affinity, so their thread pools run where the timing does.
        """
        import torch

        interop_threads = _fix_interop_threads(self.interop_threads)
        for _, module in parts:
            module.eval()
        fallback = ""
        exported = None
        if self.runtime == "onnxruntime":
            try:
                exported = onnx_runtime.export_network(parts, image, self._session_settings())
            except onnx_runtime.RuntimeFailure as exc:
                fallback = self._fallback_reason(exc)
        budget.check()
        with (
            torch.no_grad(),
            measurement.machine_lock(measurement.lock_path()) as waited,
            measurement.cpu_affinity(self.cpus),
        ):
            budget.excuse(waited)
            timed = None
            if exported is not None:
                try:
                    stages, whole = onnx_runtime.open_sessions(exported, self._session_settings())
                    timed = self._time_pipeline(stages, [image.numpy()], budget, whole)
                except onnx_runtime.RuntimeFailure as exc:
                    fallback = self._fallback_reason(exc)
            if timed is None:
                eager: list[tuple[str, Callable[[Any], Any]]] = list(parts)
                timed = self._time_pipeline(eager, image, budget, None)
            conditions = self.read_conditions()
        stage_ms, total_ms, whole_ms = timed
        spread = measurement.median_spread(total_ms)
        metrics: dict[str, MetricValue] = {
            "latency_ms": statistics.median(total_ms),
            "latency_p10_ms": float(np.percentile(total_ms, 10)),
            "latency_p90_ms": float(np.percentile(total_ms, 90)),
            "latency_passes": float(len(total_ms)),
            **({"latency_spread": spread} if np.isfinite(spread) else {}),
            "latency_noisy": float(measurement.is_noisy(total_ms, self.target_spread, conditions)),
            "lock_wait_s": waited,
            "torch_threads": float(torch.get_num_threads()),
            "torch_interop_threads": float(interop_threads),
            **self._runtime_metrics(exported, fallback, torch.__version__),
            **conditions.metrics(),
        }
        if whole_ms:
            metrics["latency_whole_graph_ms"] = statistics.median(whole_ms)
        if "classifier" in stage_ms:
            metrics["latency_classifier_ms"] = statistics.median(stage_ms["classifier"])
        return stage_ms, metrics

    def _time_pipeline(
        self,
        parts: list[tuple[str, Callable[[Any], Any]]],
        image: Any,
        budget: measurement.Budget,
        whole: Callable[[Any], Any] | None,
    ) -> tuple[dict[str, list[float]], list[float], list[float]]:
        """Warm-up and timed passes of the parts in turn (and post-processing), and of ``whole`` if given."""
        stages = list(parts)
        if self.task == "detection" and self.postprocess:
            decode = for_network(
                self.resolution,
                self.anchors,
                self.num_classes,
                score_threshold=self.score_threshold,
                iou_threshold=self.iou_threshold,
                max_detections=self.max_detections,
            )
            stages.append(("postprocess", decode.of_torch_head if whole is None else decode.of_runtime_head))
        if whole is not None and not self.whole_graph:
            whole = None
        return measurement.time_passes(
            stages,
            image,
            self.warmup,
            self.repeats,
            max(self.repeats, self.max_repeats),
            self.target_spread,
            budget.check,
            whole,
        )

    def _session_settings(self) -> onnx_runtime.SessionSettings:
        return onnx_runtime.SessionSettings(self.threads, self.interop_threads, self.precision, self.opset)

    def _fallback_reason(self, failure: onnx_runtime.RuntimeFailure) -> str:
        """Why the architecture is measured eagerly instead, if the study allows; else the failure stands."""
        if not self.eager_fallback:
            raise failure
        return f"{failure}; measured in eager PyTorch instead"

    def _runtime_metrics(
        self, exported: onnx_runtime.ExportedNetwork | None, fallback: str, torch_version: str
    ) -> dict[str, MetricValue]:
        """What the latency was measured in: the runtime, its version and settings, and any fallback."""
        if self.runtime == "eager" or fallback:
            eager: dict[str, MetricValue] = {
                "latency_runtime": f"{RUNTIME_LABELS['eager']}, torch {torch_version}",
                "latency_runtime_settings": f"{self.threads} intra-op / {self.interop_threads} inter-op "
                "thread(s), fp32",
            }
            if fallback:
                eager["latency_fallback"] = fallback
            return eager
        metrics: dict[str, MetricValue] = {
            "latency_runtime": f"{RUNTIME_LABELS['onnxruntime']} {onnx_runtime.runtime_version()}",
            "latency_runtime_settings": self._session_settings().describe(),
            "latency_precision": self.precision,
        }
        if exported is not None:
            metrics["onnx_export_s"] = exported.seconds
        return metrics

    def _sizes(self, architecture: Architecture, parts: list[str]) -> dict[str, float]:
        """``SIZE_METRICS`` of the network's ``parts``, from the closed form (nothing is run)."""
        counts = self._space.known_quantities(self._space.encode([architecture]), self.param_values())
        metrics: dict[str, float] = {}
        for prefix, (quantity, whole) in SIZE_METRICS.items():
            for part in parts:
                metrics[f"{prefix}_{part}"] = float(counts[f"{quantity}.{STAGE_OF_PART[part]}"][0])
            metrics[whole] = float(counts[quantity][0])
        return metrics

    def _train(self, architecture: Architecture, check_time: Callable[[str], None]) -> dict[str, float]:
        """Short training under each of the ``train_seeds`` seeds: their ``seeds_metrics`` (mean, spread).

        Every run trains on the same images (those of ``seed``): the spread is that of the initial
        weights and the batch order.
        """
        from search_engine.nn.synthetic_data import make_dataset

        if self._training_data is None:
            self._training_data = make_dataset(
                self.train_images, VAL_IMAGES, self.train_resolution, self.num_classes, self.seed
            )
        check_time("while generating the training images")
        seeds = range(self.seed, self.seed + self.train_seeds)
        outcomes = []
        for run, seed in enumerate(seeds, start=1):
            of_runs = f" (training run {run} of {self.train_seeds})" if self.train_seeds > 1 else ""

            def check_step(done: int, of_runs: str = of_runs) -> None:
                check_time(f"while training, after {done} of {self.train_steps} steps{of_runs}")

            outcome = train_and_validate(
                architecture,
                self._training_data,
                num_classes=self.num_classes,
                steps=self.train_steps,
                batch_size=self.train_batch,
                lr=self.train_lr,
                seed=seed,
                check=check_step,
            )
            outcomes.append(outcome)
        return seeds_metrics(list(seeds), outcomes)


def _network_space(name: str) -> GenericSpace:
    """The space registered as ``name`` (both spaces the evaluator builds are generic spaces)."""
    from search_engine.registry import SPACES

    space = SPACES.build(name, {}, "evaluator.params.space")
    assert isinstance(space, GenericSpace)
    return space


def _fix_interop_threads(requested: int) -> int:
    """Set torch's inter-op thread count if this process still may; the count in force afterwards.

    Torch allows it once per process, before any inter-op work: a worker's first evaluation sets it,
    and a later, different request leaves it as it is (the caller reports the count in force).
    """
    import torch

    if torch.get_num_interop_threads() != requested:
        with contextlib.suppress(RuntimeError):  # already set, or inter-op work has started
            torch.set_num_interop_threads(requested)
    return torch.get_num_interop_threads()


def _input_seed(seed: int, key: str) -> int:
    """A 63-bit seed for the input images from (evaluator seed, architecture key)."""
    digest = hashlib.sha256(f"{seed}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _peak_rss_mb() -> float:
    """The process's peak resident set size in MB (``resource.getrusage`` ``ru_maxrss``); 0 if unknown.

    It is a high-water mark of the whole process: ``peak_rss_mb`` includes the interpreter and torch
    itself, and ``peak_rss_increase_mb`` (its growth during one evaluation) is exact only when this
    architecture needed more memory than anything the process ran before (e.g. a worker's first
    evaluation); otherwise it is 0. Neither is the network's own memory: that is
    ``peak_activation_bytes`` (closed form), what a small device's activation arena must hold.
    """
    try:
        import resource
    except ImportError:  # not on Unix
        return 0.0
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux
