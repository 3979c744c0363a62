"""The torch evaluator's measurement hygiene: the machine lock, adaptive passes, noisy flag, threads, CPUs."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from search_engine.errors import ConfigError  # noqa: E402
from search_engine.evaluators import torch_model  # noqa: E402
from search_engine.evaluators.measurement import LOCK_PATH_ENV, Conditions  # noqa: E402
from search_engine.evaluators.torch_model import TorchEvaluator  # noqa: E402
from search_engine.spaces.hytnas import HyTNASSpace  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {var.name: var.choices[0] for var in HyTNASSpace().variables}
QUICK = {"resolution": 32, "repeats": 3, "max_repeats": 8, "warmup": 1, "batch_size": 4}
QUIET = Conditions(load_1m=0.0, cores=2)


@pytest.fixture
def lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own measurement lock, so other tests and workers on the machine do not interfere."""
    path = tmp_path / "measurement.lock"
    monkeypatch.setenv(LOCK_PATH_ENV, str(path))
    return path


def _evaluator(conditions: Any = None, **params: Any) -> TorchEvaluator:
    """A quick evaluator; ``conditions``, when given, replaces its reader of the machine's state."""
    evaluator = TorchEvaluator(**QUICK | params)
    if conditions is not None:
        evaluator.read_conditions = conditions
    return evaluator


def _is_locked(path: Path) -> bool:
    """Whether someone holds the lock now (a non-blocking try from a fresh descriptor)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def test_timing_holds_the_machine_lock_and_building_and_scoring_do_not(
    lock_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import search_engine.nn.hybrid as hybrid

    seen: dict[str, bool] = {}
    real_build, real_score = hybrid.build_model, torch_model.naswot_score

    def build(*args: Any, **kwargs: Any) -> Any:
        seen["building"] = _is_locked(lock_file)
        return real_build(*args, **kwargs)

    def score(*args: Any, **kwargs: Any) -> float:
        seen["scoring"] = _is_locked(lock_file)
        return real_score(*args, **kwargs)

    def conditions() -> Conditions:
        seen["timing"] = _is_locked(lock_file)
        return QUIET

    monkeypatch.setattr(hybrid, "build_model", build)
    monkeypatch.setattr(torch_model, "naswot_score", score)
    result = _evaluator(conditions).evaluate([SMALL])[0]
    assert result.ok, result.error
    assert seen == {"building": False, "timing": True, "scoring": False}
    assert not _is_locked(lock_file)  # released afterwards
    assert result.metrics["lock_wait_s"] >= 0


def test_passes_stay_within_their_bounds_and_are_reported_with_the_spread(lock_file: Path) -> None:
    result = _evaluator(lambda: QUIET).evaluate([SMALL])[0]
    assert result.ok, result.error
    metrics = result.metrics
    assert 3 <= metrics["latency_passes"] <= 8
    assert metrics["latency_spread"] >= 0
    assert (metrics["latency_noisy"] == 1) == (metrics["latency_spread"] > 0.03)
    assert metrics["machine_load_1m"] == 0.0 and metrics["machine_cores"] == 2


def test_a_machine_loaded_beyond_its_cores_flags_the_measurement_noisy(lock_file: Path) -> None:
    loaded = Conditions(load_1m=64.0, cores=2)
    # A target of 100 %: the spread alone would pass.
    noisy = _evaluator(lambda: loaded, target_spread=1.0).evaluate([SMALL])[0]
    quiet = _evaluator(lambda: QUIET, target_spread=1.0).evaluate([SMALL])[0]
    assert noisy.ok and quiet.ok, (noisy.error, quiet.error)
    assert noisy.metrics["latency_noisy"] == 1.0 and noisy.metrics["machine_load_1m"] == 64.0
    assert quiet.metrics["latency_noisy"] == 0.0


def test_the_thread_counts_reported_are_those_torch_used(lock_file: Path) -> None:
    result = _evaluator(interop_threads=3, accuracy="none").evaluate([SMALL])[0]
    assert result.ok, result.error
    assert result.metrics["torch_threads"] == 1
    assert result.metrics["torch_interop_threads"] == torch.get_num_interop_threads()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_a_measurement_pinned_to_a_cpu_succeeds_and_leaves_the_affinity_as_it_was(lock_file: Path) -> None:
    before = os.sched_getaffinity(0)
    result = _evaluator(cpus=[min(before)], accuracy="none").evaluate([SMALL])[0]
    assert result.ok, result.error
    assert os.sched_getaffinity(0) == before


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_pinning_to_a_cpu_the_machine_lacks_fails_the_evaluation_in_words(lock_file: Path) -> None:
    result = _evaluator(cpus=[4095], accuracy="none").evaluate([SMALL])[0]
    assert not result.ok and result.error is not None
    assert result.error.startswith("cannot run on CPUs [4095]: ")


def test_a_lock_file_that_cannot_be_opened_fails_the_evaluation_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCK_PATH_ENV, str(tmp_path / "no-such-folder" / "measurement.lock"))
    result = _evaluator(accuracy="none").evaluate([SMALL])[0]
    assert not result.ok and result.error is not None
    assert result.error.startswith(f"cannot open the measurement lock {tmp_path}/no-such-folder/")


@pytest.mark.parametrize("cpus", [[-1], [0, 0], ["0"], [True], "0,1"])
def test_a_cpu_list_that_is_not_distinct_cpu_numbers_is_refused(cpus: Any) -> None:
    with pytest.raises(ConfigError) as excinfo:
        TorchEvaluator(cpus=cpus)
    assert excinfo.value.field == "evaluator.params.cpus"
