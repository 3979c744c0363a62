"""Measurement hygiene: the median's interval, adaptive repeats, noisy flag, conditions, lock, affinity."""

from __future__ import annotations

import math
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from search_engine.evaluators.measurement import (
    DEFAULT_LOCK_NAME,
    LOCK_PATH_ENV,
    Conditions,
    MeasurementSetupError,
    cpu_affinity,
    is_noisy,
    lock_path,
    machine_lock,
    median_interval,
    median_spread,
    read_conditions,
    repeat_until_stable,
)

REPO = Path(__file__).resolve().parents[3]
QUIET = Conditions(load_1m=0.1, cores=2)


@pytest.mark.parametrize(("n", "ranks"), [(10, (2, 9)), (20, (6, 15)), (50, (18, 33)), (100, (40, 61))])
def test_the_median_interval_uses_the_tabulated_order_statistics(n: int, ranks: tuple[int, int]) -> None:
    """1-based ranks of the distribution-free 95 % interval, as statistics tables give them."""
    j, k = median_interval(n)
    assert (j + 1, k + 1) == ranks
    coverage = 1 - 2 * sum(math.comb(n, i) for i in range(j + 1)) / 2**n  # P(x_(j) <= median <= x_(k))
    assert coverage >= 0.95


def test_a_few_samples_use_their_whole_range_and_one_sample_says_nothing() -> None:
    assert median_interval(5) == (0, 4)
    assert median_spread([10.0, 11.0, 12.0, 10.5, 9.0]) == pytest.approx((12.0 - 9.0) / (2 * 10.5))
    assert median_spread([10.0]) == math.inf


def test_steady_passes_stop_at_the_minimum() -> None:
    passes = repeat_until_stable(lambda: 5.0, min_passes=4, max_passes=50, target=0.03)
    assert passes == [5.0] * 4


def test_passes_go_on_until_the_median_settles_and_stop_there() -> None:
    """Two slow passes, then steady ones: the interval needs enough steady passes to exclude the slow."""
    durations = iter([9.0, 9.0] + [5.0] * 100)
    passes = repeat_until_stable(lambda: next(durations), min_passes=3, max_passes=50, target=0.03)
    assert 3 < len(passes) < 50
    assert median_spread(passes) <= 0.03 < median_spread(passes[:-1])


def test_passes_that_never_settle_stop_at_the_bound_and_are_flagged_noisy() -> None:
    durations = iter([5.0, 10.0] * 100)
    passes = repeat_until_stable(lambda: next(durations), min_passes=3, max_passes=20, target=0.03)
    assert len(passes) == 20
    assert is_noisy(passes, 0.03, QUIET)
    assert not is_noisy([5.0] * 20, 0.03, QUIET)


def test_a_load_above_the_core_count_or_a_throttled_board_flags_a_steady_measurement() -> None:
    steady = [5.0] * 10
    assert is_noisy(steady, 0.03, Conditions(load_1m=2.5, cores=2))
    assert not is_noisy(steady, 0.03, Conditions(load_1m=2.0, cores=2))
    assert is_noisy(steady, 0.03, Conditions(throttled=0x4))  # throttled now
    assert not is_noisy(steady, 0.03, Conditions(throttled=0x40000))  # throttled since boot, not now


def test_a_run_queue_longer_than_the_cores_flags_before_the_load_average_catches_up() -> None:
    steady = [5.0] * 10
    assert is_noisy(steady, 0.03, Conditions(load_1m=0.2, runnable=3, cores=2))
    assert not is_noisy(steady, 0.03, Conditions(load_1m=0.2, runnable=2, cores=2))


def test_the_run_queue_is_read_from_procfs(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "loadavg").write_text("0.20 0.18 0.12 7/812 11206\n")
    conditions = read_conditions(tmp_path / "no-sysfs", None, tmp_path / "proc")
    assert conditions.runnable == 7 and conditions.metrics()["machine_runnable"] == 7.0
    assert read_conditions(tmp_path / "no-sysfs", None, tmp_path / "no-proc").runnable is None


@pytest.mark.skipif(not Path("/proc/loadavg").exists(), reason="needs Linux /proc")
def test_processes_spinning_on_every_cpu_make_the_machine_overloaded_at_once() -> None:
    cores = os.cpu_count() or 1
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores + 1)]
    try:
        deadline = time.monotonic() + 60
        conditions = read_conditions()
        # Waiting for the spinners to start running (interpreter start-up), at most a minute.
        while not conditions.overloaded and time.monotonic() < deadline:
            time.sleep(0.2)
            conditions = read_conditions()
        assert conditions.runnable is not None and conditions.runnable > cores, conditions
        assert conditions.overloaded
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def _fake_sysfs(root: Path) -> None:
    """cpufreq of every CPU this process may use, two thermal zones (millidegrees)."""
    for index, cpu in enumerate(sorted(os.sched_getaffinity(0))):
        policy = root / "devices/system/cpu" / f"cpu{cpu}" / "cpufreq"
        policy.mkdir(parents=True)
        (policy / "scaling_cur_freq").write_text(f"{1500000 - 100000 * index}\n")
        (policy / "scaling_max_freq").write_text("1800000\n")
        (policy / "scaling_governor").write_text("ondemand\n")
    for zone, millidegrees in (("thermal_zone0", 48312), ("thermal_zone1", 51000)):
        (root / "class/thermal" / zone).mkdir(parents=True)
        (root / "class/thermal" / zone / "temp").write_text(f"{millidegrees}\n")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_conditions_come_from_sysfs_and_the_pis_tool_where_present(tmp_path: Path) -> None:
    _fake_sysfs(tmp_path / "sys")
    tool = tmp_path / "vcgencmd"
    tool.write_text('#!/bin/sh\n[ "$1" = get_throttled ] && echo throttled=0x50005\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    conditions = read_conditions(tmp_path / "sys", str(tool))
    lowest = 1500.0 - 100.0 * (len(os.sched_getaffinity(0)) - 1)
    metrics = conditions.metrics()
    assert metrics.pop("machine_runnable") >= 1  # this test itself is running
    assert metrics == {
        "machine_load_1m": pytest.approx(os.getloadavg()[0], abs=1.0),
        "machine_cores": float(os.cpu_count() or 0),
        "machine_cpu_mhz": lowest,
        "machine_cpu_max_mhz": 1800.0,
        "machine_performance_governor": 0.0,
        "machine_temperature_c": 51.0,
        "machine_throttled": float(0x50005),
    }
    assert conditions.throttled_now


def test_what_the_platform_does_not_expose_is_absent(tmp_path: Path) -> None:
    metrics = read_conditions(tmp_path / "empty", None).metrics()
    assert set(metrics) <= {"machine_load_1m", "machine_runnable", "machine_cores"}


def test_the_lock_path_comes_from_the_environment_or_the_temporary_folder(tmp_path: Path) -> None:
    assert lock_path({LOCK_PATH_ENV: str(tmp_path / "x.lock")}) == tmp_path / "x.lock"
    assert lock_path({}).name == DEFAULT_LOCK_NAME


def test_a_lock_that_cannot_be_opened_says_where_and_why(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "x.lock"
    with (
        pytest.raises(MeasurementSetupError, match=r"cannot open the measurement lock .*missing"),
        machine_lock(missing),
    ):
        pass


TWO_MEASURERS = textwrap.dedent(
    """
    import os, sys, time
    from search_engine.evaluators import measurement, torch_model
    from search_engine.spaces.hytnas import HyTNASSpace

    log, ready, go = sys.argv[1:4]
    timed_passes = measurement.time_passes

    def logged(*args, **kwargs):
        with open(log, "a") as out:
            out.write(f"{os.getpid()} enter\\n")
        time.sleep(0.2)  # long enough that two unlocked measurements would overlap
        try:
            return timed_passes(*args, **kwargs)
        finally:
            with open(log, "a") as out:
                out.write(f"{os.getpid()} exit\\n")

    measurement.time_passes = logged
    evaluator = torch_model.TorchEvaluator(resolution=32, repeats=2, max_repeats=2, warmup=0, accuracy="none")
    small = {var.name: var.choices[0] for var in HyTNASSpace().variables}
    open(ready + str(os.getpid()), "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    results = evaluator.evaluate([small] * 4)
    assert all(result.ok for result in results), [result.error for result in results]
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="flock is Unix only")
def test_two_workers_measuring_at_once_take_turns(tmp_path: Path) -> None:
    """Two processes, each a torch evaluator timing four networks, started at the same moment."""
    pytest.importorskip("torch")
    environment = {**os.environ, LOCK_PATH_ENV: str(tmp_path / "measure.lock"), "PYTHONPATH": str(REPO)}
    log, ready, go = tmp_path / "log", tmp_path / "ready-", tmp_path / "go"
    command = [sys.executable, "-c", TWO_MEASURERS, str(log), str(ready), str(go)]
    workers = [subprocess.Popen(command, env=environment) for _ in range(2)]
    start_within_seconds = 120  # two interpreters starting on a loaded machine
    for _ in range(start_within_seconds * 100):
        if len(list(tmp_path.glob("ready-*"))) == 2:
            break
        time.sleep(0.01)
    go.touch()  # both start measuring at the same moment
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    events = [line.split() for line in log.read_text().splitlines()]
    assert len(events) == 16 and len({pid for pid, _ in events}) == 2
    for enter, leave in zip(events[::2], events[1::2], strict=True):
        assert enter[1] == "enter" and leave == [enter[0], "exit"], (
            events
        )  # no one enters while another is in


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_affinity_pins_the_thread_while_measuring_and_restores_it() -> None:
    before = os.sched_getaffinity(0)
    first = min(before)
    with cpu_affinity([first]):
        assert os.sched_getaffinity(0) == {first}
    assert os.sched_getaffinity(0) == before
    with cpu_affinity([]):
        assert os.sched_getaffinity(0) == before


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_affinity_to_a_cpu_the_process_cannot_use_is_refused_in_words() -> None:
    before = os.sched_getaffinity(0)
    refused = r"cannot run on CPUs \[4095\].*this process may use"
    with pytest.raises(MeasurementSetupError, match=refused), cpu_affinity([4095]):
        pass
    assert os.sched_getaffinity(0) == before


def test_without_thermal_zones_the_pis_tool_gives_the_temperature(tmp_path: Path) -> None:
    tool = tmp_path / "vcgencmd"
    tool.write_text('#!/bin/sh\n[ "$1" = measure_temp ] && echo "temp=47.2\'C"\nexit 0\n')
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    conditions = read_conditions(tmp_path / "no-sysfs", str(tool))
    assert conditions.temperature_c == 47.2
    assert conditions.throttled is None  # it printed no throttled=...
