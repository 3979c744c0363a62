"""Measurement hygiene: one latency measurement at a time per machine, its conditions, adaptive repeats.

A latency is only worth storing if the machine was not busy measuring something else, so:

- ``machine_lock`` is a machine-wide exclusive lock (``fcntl.flock`` on one file) held only while
  timing: however many workers a machine runs, and whichever program they are (RQ workers, remote
  evaluation workers, a benchmark), two networks are never timed at once. The lock belongs to the
  machine, not to a study, so its path is the one thing the engine takes from the environment
  (``LOCK_PATH_ENV``, default under the system's temporary folder): every process on the machine
  agrees on it without a study configuration saying so. ``flock`` is released by the kernel when
  its holder dies, so a killed worker never leaves the machine locked.
- ``read_conditions`` records what skews a timing where the platform says: load average and the
  number of tasks runnable at that instant (the load average lags a competitor by a minute; the run
  queue sees one that started seconds ago), the clock frequency and governor of the CPUs the process
  may use, the hottest thermal zone (Linux sysfs) and the Raspberry Pi's throttling flags
  (``vcgencmd``); what a platform does not expose is simply absent.
- ``repeat_until_stable`` times passes until the median is known within a relative ``target``
  (the half-width of its distribution-free 95 % confidence interval, from order statistics), after
  at least ``min_passes`` and at most ``max_passes``; ``is_noisy`` flags a measurement that missed
  the target at the bound, ran on an overloaded machine or on a throttled board.
- ``time_passes`` times a pipeline of stages (any callables: PyTorch modules, ONNX Runtime sessions,
  post-processing) pass after pass, each stage on its own, until the end-to-end median is stable;
  ``Budget`` is an evaluation's time limit with the lock's waiting excused.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCK_PATH_ENV = "HYTNAS_MEASUREMENT_LOCK"
"""Environment variable naming the machine-wide measurement lock file (see the module docstring)."""
DEFAULT_LOCK_NAME = "hytnas-measurement.lock"
"""The lock file's name in the system's temporary folder when ``LOCK_PATH_ENV`` is unset."""

CONFIDENCE = 0.95
"""Coverage of the median's confidence interval whose half-width ``median_spread`` reports."""

THROTTLED_NOW = 0xF
"""``vcgencmd get_throttled`` bits of a condition present now (under-voltage, frequency capped,
throttled, soft temperature limit); the higher bits only say it happened since boot."""


def lock_path(environ: Mapping[str, str] | None = None) -> Path:
    """The lock file every measuring process of this machine shares (``LOCK_PATH_ENV`` or the default)."""
    value = (os.environ if environ is None else environ).get(LOCK_PATH_ENV, "")
    return Path(value) if value else Path(tempfile.gettempdir()) / DEFAULT_LOCK_NAME


class MeasurementSetupError(Exception):
    """What a measurement needs is unavailable: the lock file (a missing folder, no permission), or
    pinning to the CPUs asked for (not on this platform, CPUs this process may not use)."""


@contextmanager
def machine_lock(path: Path) -> Iterator[float]:
    """Hold the machine-wide measurement lock; yields the seconds spent waiting for it.

    Raises:
        MeasurementSetupError: the file cannot be opened or locked, with the path and the reason.
    """
    try:
        import fcntl
    except ImportError:  # not on Unix: one measurement at a time is not enforced there
        yield 0.0
        return
    tick = time.perf_counter()
    try:
        # Read-only suffices for flock and works on a file another user created in a sticky /tmp.
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError as exc:
        raise MeasurementSetupError(f"cannot open the measurement lock {path}: {exc.strerror}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield time.perf_counter() - tick
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def cpu_affinity(cpus: Sequence[int]) -> Iterator[None]:
    """Run the calling thread (and threads it starts) on ``cpus`` only, restored on exit; empty: as is.

    Raises:
        MeasurementSetupError: the platform cannot pin threads, or ``cpus`` names CPUs this process
            may not use.
    """
    if not cpus:
        yield
        return
    if not hasattr(os, "sched_setaffinity"):
        raise MeasurementSetupError("CPU affinity is not supported on this platform (Linux only)")
    previous = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, set(cpus))
    except OSError as exc:
        offered = ", ".join(str(cpu) for cpu in sorted(previous))
        message = f"cannot run on CPUs {list(cpus)}: {exc.strerror} (this process may use {offered})"
        raise MeasurementSetupError(message) from None
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


@dataclass(frozen=True)
class Conditions:
    """The machine's state during a measurement; ``None`` where the platform does not say.

    Attributes:
        load_1m: one-minute load average (runnable tasks, this measurement included).
        runnable: tasks runnable at the moment of reading, the reader included (Linux
            ``/proc/loadavg``): a process competing for the CPUs now, however recently started.
        cores: CPUs of the machine, which the load is compared with.
        cpu_mhz: lowest current clock of the CPUs this process may run on.
        cpu_max_mhz: highest clock their frequency policy allows.
        performance_governor: 1 when all of them run the ``performance`` governor (a fixed top
            clock), 0 for any other (ondemand, schedutil, powersave: the clock moves under load).
        temperature_c: hottest thermal zone, in degrees Celsius.
        throttled: the Raspberry Pi's ``vcgencmd get_throttled`` bit field.
    """

    load_1m: float | None = None
    runnable: int | None = None
    cores: int | None = None
    cpu_mhz: float | None = None
    cpu_max_mhz: float | None = None
    performance_governor: bool | None = None
    temperature_c: float | None = None
    throttled: int | None = None

    def metrics(self) -> dict[str, float]:
        """The known fields as metrics, named ``machine_<field>``; unknown ones are left out."""
        values = {
            "machine_load_1m": self.load_1m,
            "machine_runnable": self.runnable,
            "machine_cores": self.cores,
            "machine_cpu_mhz": self.cpu_mhz,
            "machine_cpu_max_mhz": self.cpu_max_mhz,
            "machine_performance_governor": self.performance_governor,
            "machine_temperature_c": self.temperature_c,
            "machine_throttled": self.throttled,
        }
        return {name: float(value) for name, value in values.items() if value is not None}

    @property
    def overloaded(self) -> bool:
        """More runnable tasks than CPUs, on average or now: some of the timed passes waited for a CPU."""
        if self.cores is None:
            return False
        return any(busy is not None and busy > self.cores for busy in (self.load_1m, self.runnable))

    @property
    def throttled_now(self) -> bool:
        """The board reports under-voltage, a capped frequency or throttling at this moment."""
        return self.throttled is not None and bool(self.throttled & THROTTLED_NOW)


ConditionsReader = Callable[[], Conditions]
"""What the evaluator calls after timing to learn the machine's state (tests pass their own)."""


def read_conditions(
    sysfs: Path = Path("/sys"), vcgencmd: str | None = "vcgencmd", procfs: Path = Path("/proc")
) -> Conditions:
    """The machine's state now, from ``os``, Linux ``sysfs``/``procfs`` and ``vcgencmd`` where present.

    Args:
        sysfs: root of the sysfs tree (another root reads a copy, e.g. in a test).
        vcgencmd: the Raspberry Pi tool's name or path, or None not to ask it.
        procfs: root of the procfs tree, for the run queue.
    """
    try:
        load: float | None = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Unix
        load = None
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    policies = [sysfs / "devices/system/cpu" / f"cpu{cpu}" / "cpufreq" for cpu in cpus]
    current = [_read_number(policy / "scaling_cur_freq") for policy in policies]
    highest = [_read_number(policy / "scaling_max_freq") for policy in policies]
    governors = [_read_text(policy / "scaling_governor") for policy in policies]
    zones = sorted((sysfs / "class/thermal").glob("thermal_zone*/temp"))
    temperatures = [t for t in (_read_number(zone) for zone in zones) if t is not None]
    temperature = max(temperatures) / 1000.0 if temperatures else None  # millidegrees
    throttled = None
    tool = shutil.which(vcgencmd) if vcgencmd else None
    if tool is not None:
        throttled = _vcgencmd_number(tool, "get_throttled", r"throttled=(0x[0-9a-fA-F]+)")
        if temperature is None:
            temperature = _vcgencmd_number(tool, "measure_temp", r"temp=([0-9.]+)")
    known_governors = [g for g in governors if g is not None]
    return Conditions(
        load_1m=load,
        runnable=_runnable_now(procfs),
        cores=os.cpu_count(),
        cpu_mhz=_lowest_mhz(current),
        cpu_max_mhz=max((v / 1000.0 for v in highest if v is not None), default=None),
        performance_governor=(all(g == "performance" for g in known_governors) if known_governors else None),
        temperature_c=temperature,
        throttled=int(throttled) if throttled is not None else None,
    )


def _runnable_now(procfs: Path) -> int | None:
    """Tasks runnable now: the numerator of ``/proc/loadavg``'s fourth field (``3/812``); None if absent."""
    fields = (_read_text(procfs / "loadavg") or "").split()
    running = fields[3].split("/")[0] if len(fields) > 3 else ""
    return int(running) if running.isdigit() else None


def _lowest_mhz(khz: list[float | None]) -> float | None:
    known = [v for v in khz if v is not None]
    return min(known) / 1000.0 if known else None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _read_number(path: Path) -> float | None:
    text = _read_text(path)
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _vcgencmd_number(tool: str, command: str, pattern: str) -> float | None:
    """The number ``pattern`` captures in ``vcgencmd <command>``'s output (hex or decimal); None if none."""
    try:
        output = subprocess.run(
            [tool, command], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(pattern, output)
    if found is None:
        return None
    text = found.group(1)
    return float(int(text, 16)) if text.startswith("0x") else float(text)


def median_interval(n: int, confidence: float = CONFIDENCE) -> tuple[int, int]:
    """0-based ranks ``(j, k)`` of sorted samples bounding the median with at least ``confidence``.

    Distribution-free: the number of samples below the median is Binomial(n, 1/2), so
    ``[x_(j), x_(k)]`` with ``k = n - 1 - j`` covers it with probability ``1 - 2 P(B <= j)``; ``j`` is
    the largest rank keeping that at least ``confidence``, or 0 when even the range falls short
    (fewer than 6 samples at 95 %).
    """
    tail = (1.0 - confidence) / 2.0
    log_mass = -n * math.log(2.0)  # log P(B = 0), in logs: 2^-n underflows past a thousand samples
    below = 0.0  # P(B <= rank)
    j = 0
    for rank in range(n // 2):
        below += math.exp(log_mass)
        if below > tail:
            break
        j = rank
        log_mass += math.log((n - rank) / (rank + 1))  # P(B = rank + 1) / P(B = rank)
    return j, n - 1 - j


def median_spread(samples: Sequence[float]) -> float:
    """Half-width of the median's confidence interval relative to the median (0.03: within ±3 %).

    Infinite for fewer than two samples: one pass says nothing about how far the next would be.
    """
    if len(samples) < 2:
        return math.inf
    ordered = sorted(samples)
    j, k = median_interval(len(ordered))
    middle = statistics.median(ordered)
    return (ordered[k] - ordered[j]) / (2.0 * middle) if middle > 0 else math.inf


def repeat_until_stable(
    time_pass: Callable[[], float], min_passes: int, max_passes: int, target: float
) -> list[float]:
    """Call ``time_pass`` (one timed pass, its duration) until its median is known within ``target``.

    At least ``min_passes`` and at most ``max_passes`` calls; returns every duration in order.
    """
    samples = [time_pass() for _ in range(min_passes)]
    while len(samples) < max_passes and median_spread(samples) > target:
        samples.append(time_pass())
    return samples


def is_noisy(samples: Sequence[float], target: float, conditions: Conditions) -> bool:
    """The median missed ``target`` within the passes allowed, or the machine was overloaded or throttled."""
    return median_spread(samples) > target or conditions.overloaded or conditions.throttled_now


class TimeLimitExceeded(Exception):
    """Raised between passes or training steps once an evaluation has run longer than its time limit."""


@dataclass
class Budget:
    """An evaluation's time limit; seconds spent waiting for the machine's measurement lock are excused."""

    start: float
    limit: float
    excused: float = 0.0

    def excuse(self, seconds: float) -> None:
        self.excused += seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def check(self, during: str = "") -> None:
        """Raise ``TimeLimitExceeded`` (naming what was running) once the limit is spent."""
        if self.elapsed() - self.excused > self.limit:
            raise TimeLimitExceeded(during)


def time_passes(
    stages: list[tuple[str, Callable[[Any], Any]]],
    image: Any,
    warmup: int,
    min_passes: int,
    max_passes: int,
    target_spread: float,
    check_time: Callable[[], None],
    whole: Callable[[Any], Any] | None = None,
) -> tuple[dict[str, list[float]], list[float], list[float]]:
    """Per-stage, end-to-end and whole-graph ms of each pass (``repeat_until_stable``).

    ``warmup`` untimed passes come first. The end-to-end time is the stages' sum, so passes stop once
    it is stable. ``whole`` (the network as one graph) runs in the same pass, after the stages, on the
    image; its time gets the same pass's post-processing added, so the two compare directly.
    """
    stage_ms: dict[str, list[float]] = {name: [] for name, _ in stages}
    whole_ms: list[float] = []

    def one_pass() -> float:
        value: Any = image
        total = 0.0
        for name, run in stages:
            tick = time.perf_counter()
            value = run(value)
            elapsed = (time.perf_counter() - tick) * 1e3
            stage_ms[name].append(elapsed)
            total += elapsed
        if whole is not None:
            tick = time.perf_counter()
            whole(image)
            whole_ms.append((time.perf_counter() - tick) * 1e3 + stage_ms.get("postprocess", [0.0])[-1])
        check_time()
        return total

    for _ in range(warmup):
        one_pass()
    for times in (*stage_ms.values(), whole_ms):
        times.clear()
    total_ms = repeat_until_stable(one_pass, min_passes, max_passes, target_spread)
    return stage_ms, total_ms, whole_ms
