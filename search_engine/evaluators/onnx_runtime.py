"""Latency as deployed: the parts of a built network exported to ONNX and run in ONNX Runtime.

Nobody deploys eager PyTorch on a small device; an ONNX Runtime session fuses what eager runs op by
op (batch norm into convolutions, layer norms, attention's matrix products, activations), and the
fusion matters most for small stages. So each part of the network (backbone, neck, head or
classifier) is exported on its own with the TorchScript-based exporter (``torch.onnx.export`` with
``dynamo=False``: it needs no ``onnxscript``) into memory, at the evaluation's input size, and gets
its own ``InferenceSession``; a pass runs the sessions in turn, each fed the previous one's outputs,
as the eager measurement runs the modules. The whole network is the parts' graphs joined into one
(``onnx.compose.merge_models``, no second export), so ONNX Runtime may also fuse across the stage
boundaries: timed beside the parts, it says what that gains.

Sessions use the CPU execution provider with ``threads`` intra-op and ``interop_threads`` inter-op
threads, sequential execution and every graph optimisation (``ORT_ENABLE_ALL``); ``int8`` is ONNX
Runtime's dynamic quantization (``quantize_dynamic``: int8 weights, activations quantized per call),
whose speed is measured, never assumed (on many CPUs its integer convolutions are slower than fp32).

Anything the exporter or the runtime refuses (an operator the opset lacks, a graph a session cannot
load or run) raises :class:`RuntimeFailure` naming the part and the reason; onnxruntime missing on the
machine raises :class:`RuntimeUnavailable`. Nothing here imports onnx or onnxruntime at module level,
so the engine imports without them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import onnx
    import torch

Precision = Literal["fp32", "int8"]

INPUT = "in{}"
OUTPUT = "out{}"
"""Names of a part's flattened inputs and outputs in its exported graph (``in0``, ``out2``)."""


class RuntimeUnavailable(Exception):
    """ONNX Runtime (or onnx) is not installed where the measurement runs; the message says what to do."""


class RuntimeFailure(Exception):
    """A part could not be exported, loaded or run; the message names the part and the reason."""


def runtime_version() -> str:
    """The installed onnxruntime's version.

    Raises:
        RuntimeUnavailable: onnxruntime or onnx cannot be imported here.
    """
    try:
        import onnx  # noqa: F401  (the export and quantization need it too)
        import onnxruntime
    except ImportError as exc:
        raise RuntimeUnavailable(
            f"ONNX Runtime is not installed on this machine ({exc}): {install_hint()}, or choose the "
            "eager PyTorch runtime"
        ) from None
    return str(onnxruntime.__version__)


def available() -> bool:
    """Whether latency can be measured in ONNX Runtime here: onnxruntime and onnx both import.

    Imports them (a package that is present but broken, or built for another CPU, counts as
    missing), so call it when the answer is needed, not at start-up of every process.
    """
    try:
        runtime_version()
    except RuntimeUnavailable:
        return False
    return True


def install_hint() -> str:
    """The pip command that gives a machine ONNX Runtime: the versions installed here, if any.

    Read from the installed packages' metadata, so neither is imported (a web server that hands
    out work need not load ONNX Runtime to say what a worker lacks).
    """
    from importlib import metadata

    packages = []
    for name in ("onnxruntime", "onnx"):
        try:
            packages.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            packages.append(name)
    return "pip install " + " ".join(packages)


@dataclass(frozen=True)
class SessionSettings:
    """How every session of a measurement is made; ``describe()`` is recorded with the measurement."""

    threads: int
    interop_threads: int
    precision: Precision
    opset: int

    def describe(self) -> str:
        return (
            f"CPU execution provider, {self.threads} intra-op / {self.interop_threads} inter-op "
            f"thread(s), sequential execution, all graph optimizations, {self.precision}, "
            f"ONNX opset {self.opset}"
        )


@dataclass(frozen=True)
class ExportedNetwork:
    """Serialized ONNX graphs of each part, in execution order, and of the whole network."""

    parts: tuple[tuple[str, bytes], ...]
    whole: bytes
    seconds: float
    """Wall time of exporting (and quantizing) everything."""


Stage = Callable[[Sequence[Any]], list[Any]]
"""A part's session as a function: the previous part's outputs in, this part's outputs out."""


def export_network(
    parts: Sequence[tuple[str, torch.nn.Module]], image: torch.Tensor, settings: SessionSettings
) -> ExportedNetwork:
    """Export each part at ``image``'s size (and quantize it for ``int8``), then join them into one graph.

    Raises:
        RuntimeFailure: the exporter or the quantizer refused a part.
    """
    import onnx
    import torch

    start = time.perf_counter()
    value: Any = image
    graphs: list[tuple[str, onnx.ModelProto]] = []
    with torch.no_grad():
        for name, module in parts:
            inputs = _flatten(value)
            wrapper = _flat_part(module, single_input=isinstance(value, torch.Tensor))
            value = module(value)  # the next part's example input
            buffer: Any = io.BytesIO()  # typed as a path, but a file object keeps the graph in memory
            try:
                with _quiet():
                    torch.onnx.export(
                        wrapper,
                        tuple(inputs),
                        buffer,
                        dynamo=False,
                        opset_version=settings.opset,
                        input_names=[INPUT.format(i) for i in range(len(inputs))],
                        output_names=[OUTPUT.format(i) for i in range(len(_flatten(value)))],
                    )
            except Exception as exc:
                raise RuntimeFailure(f"ONNX export of the {name} failed: {_first_line(exc)}") from None
            graphs.append((name, onnx.load_from_string(buffer.getvalue())))
    whole = _joined(graphs)
    if settings.precision == "int8":
        graphs = [(name, _quantized(name, graph)) for name, graph in graphs]
        whole = _quantized("whole network", whole)
    return ExportedNetwork(
        parts=tuple((name, graph.SerializeToString()) for name, graph in graphs),
        whole=whole.SerializeToString(),
        seconds=time.perf_counter() - start,
    )


def open_sessions(
    exported: ExportedNetwork, settings: SessionSettings
) -> tuple[list[tuple[str, Stage]], Stage]:
    """One session per part and one for the whole network, each wrapped as a :data:`Stage`.

    Made in the calling thread, so a session's thread pool inherits its CPU affinity.

    Raises:
        RuntimeFailure: ONNX Runtime could not load a graph.
    """
    stages = [(name, _stage(name, model, settings)) for name, model in exported.parts]
    return stages, _stage("whole network", exported.whole, settings)


def _stage(name: str, model: bytes, settings: SessionSettings) -> Stage:
    """A session for ``model`` as a function of the previous part's outputs (by position)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = settings.threads
    options.inter_op_num_threads = settings.interop_threads
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: warnings about unused initializers are noise here
    try:
        session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise RuntimeFailure(f"ONNX Runtime could not load the {name}: {_first_line(exc)}") from None
    # The exporter drops inputs a part never reads (the classifier reads the last feature map only).
    feeds = [(node.name, int(node.name.rsplit("in", 1)[1])) for node in session.get_inputs()]

    def run(values: Sequence[Any]) -> list[Any]:
        try:
            outputs: list[Any] = session.run(None, {feed: values[position] for feed, position in feeds})
            return outputs
        except Exception as exc:
            raise RuntimeFailure(f"ONNX Runtime failed running the {name}: {_first_line(exc)}") from None

    return run


def _flat_part(module: torch.nn.Module, single_input: bool) -> torch.nn.Module:
    """``module`` taking and returning flat tuples of tensors, like an exported graph."""
    import torch

    class FlatPart(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.part = module

        def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
            value = tensors[0] if single_input else list(tensors)
            return tuple(_flatten(self.part(value)))

    # In eval mode like the part: the exporter restores the wrapper's mode afterwards, recursively,
    # and a wrapper left in training mode would put the part's batch norms back into training.
    return FlatPart().train(module.training)


def _flatten(value: Any) -> list[Any]:
    """A part's output as a flat list of tensors: a tensor, a list, or the head's dict of lists in order."""
    if isinstance(value, dict):
        return [tensor for item in value.values() for tensor in _flatten(item)]
    if isinstance(value, list | tuple):
        return [tensor for item in value for tensor in _flatten(item)]
    return [value]


def _joined(graphs: list[tuple[str, onnx.ModelProto]]) -> onnx.ModelProto:
    """The parts' graphs as one, each part's outputs wired to the next part's inputs of the same position."""
    import onnx.compose

    prefixed = [onnx.compose.add_prefix(graph, f"{name}/") for name, graph in graphs]
    whole = prefixed[0]
    for (previous, _), graph in zip(graphs, prefixed[1:], strict=False):
        wired = [
            (f"{previous}/{OUTPUT.format(node.name.rsplit('in', 1)[1])}", node.name)
            for node in graph.graph.input
        ]
        outputs = [node.name for node in graph.graph.output]
        whole = onnx.compose.merge_models(whole, graph, io_map=wired, outputs=outputs)
    # merge_models lists a domain once per model it merged; the quantizer wants each domain once
    opsets = {entry.domain: entry.version for entry in whole.opset_import}
    del whole.opset_import[:]
    whole.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in opsets.items())
    return whole


def _quantized(name: str, graph: onnx.ModelProto) -> onnx.ModelProto:
    """ONNX Runtime's dynamic int8 quantization of ``graph`` (it writes to a file: a temporary one)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "int8.onnx"
        try:
            with _quiet():
                quantize_dynamic(graph, path, weight_type=QuantType.QInt8)
        except Exception as exc:
            raise RuntimeFailure(f"int8 quantization of the {name} failed: {_first_line(exc)}") from None
        return onnx.load(path)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's tracer warnings and the quantizer's advice, which only speak to developers."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
